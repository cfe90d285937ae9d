"""What sync lets leave: a model unchanged under a changed contract is verified again; --force
overrides a failing verdict, never a file that is not a Keras .h5 model at all."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sync_processes import models_in

from tests.conftest import assert_one_line_error, run_tfbridge

ProjectMaker = Callable[..., Path]


def _slot(done: subprocess.CompletedProcess[str]) -> Any:
    report = json.loads(done.stdout)
    assert report["schema"] == 1
    [slot] = report["slots"]
    return slot


def _ledger_actions(root: Path) -> list[str]:
    lines = (root / ".tfbridge" / "ledger.jsonl").read_text().splitlines()
    return [json.loads(line)["action"] for line in lines]


def test_changed_contract_means_verify_again(
    make_project: ProjectMaker, exam_dir: Path, models: dict[str, Path]
) -> None:
    root = make_project(str(exam_dir))
    assert _slot(run_tfbridge("sync", "--json", cwd=root))["action"] == "sent"
    toml = root / "tfbridge.toml"
    softmax = toml.read_text()

    toml.write_text(softmax.replace('"softmax"', '"sigmoid"'))
    changed = run_tfbridge("sync", "--json", cwd=root)
    assert changed.returncode == 1, changed.stderr
    slot = _slot(changed)
    assert (slot["action"], slot["verdict"]) == ("refused", "fail")
    assert any("sigmoid" in problem for problem in slot["problems"])
    assert (exam_dir / "Category1" / "q1.h5").read_bytes() == models["first"].read_bytes()

    toml.write_text(softmax.replace('output_activation = "softmax"\n', ""))
    loosened = _slot(run_tfbridge("sync", "--json", cwd=root))
    assert (loosened["action"], loosened["verdict"]) == ("unchanged", "pass")
    again = _slot(run_tfbridge("sync", "--json", cwd=root))
    assert (again["action"], again["verdict"]) == ("unchanged", "skip")
    assert _ledger_actions(root) == ["sync", "verify"]


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"", "the file is empty (0 bytes)"),
        (b"this is not a model\n", "not an HDF5 file"),
    ],
)
def test_force_never_sends_a_file_that_is_not_a_keras_model(
    dest: str,
    make_project: ProjectMaker,
    exam_dir: Path,
    models: dict[str, Path],
    content: bytes,
    why: str,
) -> None:
    root = make_project(dest)
    assert run_tfbridge("sync", cwd=root).returncode == 0
    (root / "models" / "q1.h5").write_bytes(content)

    forced = run_tfbridge("sync", "--force", "--json", cwd=root)

    assert forced.returncode == 1, forced.stderr
    slot = _slot(forced)
    assert (slot["action"], slot["verdict"]) == ("refused", "fail")
    [problem] = slot["problems"]
    assert problem.startswith("model.file:") and why in problem
    assert models_in(exam_dir / "Category1") == ["q1.h5"]
    assert (exam_dir / "Category1" / "q1.h5").read_bytes() == models["first"].read_bytes()
    human = run_tfbridge("sync", "--force", cwd=root)
    assert "--force cannot send this file" in human.stdout


def test_model_path_that_is_a_fifo_is_refused_at_once(
    make_project: ProjectMaker, exam_dir: Path
) -> None:
    root = make_project(str(exam_dir))
    model = root / "models" / "q1.h5"
    model.unlink()
    os.mkfifo(model)
    done = run_tfbridge("sync", "--force", "--json", cwd=root, timeout=60)
    line = assert_one_line_error(done, code=2)
    assert "a FIFO (named pipe), not a regular file" in line
    assert json.loads(done.stdout)["error"]["exit_code"] == 2
    assert os.listdir(exam_dir) == []


def test_status_with_a_fifo_model_reports_it_without_hanging(
    make_project: ProjectMaker, exam_dir: Path
) -> None:
    root = make_project(str(exam_dir))
    assert run_tfbridge("sync", cwd=root).returncode == 0
    model = root / "models" / "q1.h5"
    model.unlink()
    os.mkfifo(model)
    done = run_tfbridge("sync", "status", "--json", cwd=root, timeout=60)
    assert done.returncode == 1, done.stderr
    [slot] = json.loads(done.stdout)["slots"]
    assert slot["state"] == "local-missing" and "FIFO" in slot["message"]
