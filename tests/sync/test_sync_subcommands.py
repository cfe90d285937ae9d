"""`tfbridge sync` sub-commands: real click sub-commands, options that do not apply are refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import assert_one_line_error, run_tfbridge

ProjectMaker = Callable[..., Path]

CONFIG = '[target]\ndest = "exam"\n[slots.q1]\nmodel = "models/q1.h5"\n'


@pytest.mark.parametrize(
    "args",
    [
        ("status", "--force"),
        ("status", "--remote-verify"),
        ("status", "--dry-run"),
        ("rollback", "q1", "--init"),
        ("rollback", "q1", "--force"),
        ("rollback", "q1", "q2"),
        ("rollback",),
        ("init", "q1"),
        ("init", "--force"),
        ("q1", "--init"),
    ],
    ids=" ".join,
)
def test_options_that_do_not_apply_are_usage_errors(tmp_path: Path, args: tuple[str, ...]) -> None:
    (tmp_path / "tfbridge.toml").write_text(CONFIG)
    done = run_tfbridge("sync", *args, cwd=tmp_path, timeout=60)
    line = assert_one_line_error(done, 2)
    assert "tfbridge sync" in line and "--help" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tfbridge.toml"]  # nothing ran


@pytest.mark.parametrize("spelling", [("init",), ("--init",)], ids=" ".join)
def test_init_and_its_old_spelling_write_the_example(tmp_path: Path, spelling: tuple[str]) -> None:
    done = run_tfbridge("sync", *spelling, "--json", cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["written"] == str(tmp_path / "tfbridge.toml")
    assert "[target]" in (tmp_path / "tfbridge.toml").read_text()


def test_help_says_how_to_send_a_slot_named_like_a_command() -> None:
    done = run_tfbridge("sync", "--help", timeout=60)
    assert done.returncode == 0
    assert "tfbridge sync -- status" in done.stdout and "tfbridge sync send status" in done.stdout
    for command in ("send", "status", "rollback", "init"):
        assert f"\n  {command} " in done.stdout


@pytest.mark.runtime
@pytest.mark.parametrize(
    "spelling", [("--json", "--", "status"), ("send", "--json", "status")], ids=" ".join
)
def test_a_slot_named_status_is_sent(
    make_project: ProjectMaker, exam_dir: Path, spelling: tuple[str, ...]
) -> None:
    root = make_project(str(exam_dir), slots={"status": ("first", "Category1")})
    done = run_tfbridge("sync", *spelling, cwd=root)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [(slot["slot"], slot["action"]) for slot in report["slots"]] == [("status", "sent")]
    assert len(list((exam_dir / "Category1").glob("*.h5"))) == 1
    listed = json.loads(run_tfbridge("sync", "status", "status", "--json", cwd=root).stdout)
    assert [(slot["slot"], slot["state"]) for slot in listed["slots"]] == [("status", "in-sync")]
