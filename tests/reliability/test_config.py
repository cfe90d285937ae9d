"""Hostile `tfbridge.toml` files: every command that reads the project config keeps the contract
(one error line or one JSON object, exit 1 or 2, nothing written outside the target, a FIFO never
waited on, and a training script never started on a config that cannot be read)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest

from tests.reliability.commands import EXAM_MACHINE, sync_state
from tests.reliability.contract import (
    Outputs,
    contract_problems,
    first_line,
    run_cli,
    snapshot,
    tree_changes,
)
from tests.reliability.hostile import GOOD_MODEL
from tests.reliability.parallel import result_of, run_selected_in_parallel

CONFIG = "tfbridge.toml"
SCRIPT_RAN = "SCRIPT_RAN"
TARGET = f'[target]\ndest = "{EXAM_MACHINE}"\n'


def _slot(model: str, **extra: str) -> str:
    lines = [f'{key} = "{value}"' for key, value in extra.items()]
    return "\n".join(["[slots.q1]", f'model = "{model}"', *lines]) + "\n"


def _text(content: str | bytes) -> Callable[[Path], None]:
    data = content.encode("utf-8") if isinstance(content, str) else content

    def write(project: Path) -> None:
        (project / CONFIG).write_bytes(data)

    return write


def _fifo(project: Path) -> None:
    os.mkfifo(project / CONFIG)


def _directory(project: Path) -> None:
    (project / CONFIG).mkdir()


def _symlink_loop(project: Path) -> None:
    os.symlink(CONFIG, project / CONFIG)


def _slot_model_fifo(project: Path) -> None:
    os.mkfifo(project / "q1.h5")
    _text(TARGET + _slot("q1.h5"))(project)


def _slot_model_empty(project: Path) -> None:
    (project / "q1.h5").write_bytes(b"")
    _text(TARGET + _slot("q1.h5"))(project)


def _good_model_sent(**extra: str) -> Callable[[Path], None]:
    """A good model whose slot tries to leave the target directory."""

    def write(project: Path) -> None:
        shutil.copyfile(GOOD_MODEL, project / "q1.h5")
        _text(TARGET + _slot("q1.h5", **extra))(project)

    return write


# Configs that cannot be read at all: no command may get past reading them.
UNREADABLE_CONFIGS: dict[str, Callable[[Path], None]] = {
    "not_utf8": _text(b"\xff\xfe[target]\ndest = '\xff'\n"),
    "toml_syntax_error": _text('[target\ndest = "'),
    "nested_arrays_10000_deep": _text("x = " + "[" * 10_000 + "]" * 10_000 + "\n"),
    "nested_tables_5000_deep": _text("x = " + "{a = " * 5_000 + "1" + "}" * 5_000 + "\n"),
    "huge_10_mb": _text(TARGET + "# " + "x" * (10 * 1024 * 1024) + "\n[slots.q1\n"),
    "wrong_types": _text("[target]\ndest = 5\n[slots.q1]\nmodel = ['a']\nremote_dir = 7\n"),
    "slots_not_a_table": _text(TARGET + 'slots = "q1"\n'),
    "nul_in_model_path": _text(TARGET + _slot("q1\\u0000.h5")),
    "fifo": _fifo,
    "directory": _directory,
    "symlink_loop": _symlink_loop,
    "remote_dir_escapes": _good_model_sent(remote_dir="../outside"),
    "remote_dir_absolute": _good_model_sent(remote_dir="/elsewhere"),
    "remote_name_escapes": _good_model_sent(remote_name="../../outside.h5"),
    "remote_name_with_slash": _good_model_sent(remote_name="sub/model.h5"),
}
# Configs that read, with a slot model that is not a model file.
BAD_SLOT_MODELS: dict[str, Callable[[Path], None]] = {
    "slot_model_fifo": _slot_model_fifo,
    "slot_model_empty": _slot_model_empty,
}
READERS = {
    "sync": ["sync"],
    "sync --json": ["sync", "--json"],
    "sync status --json": ["sync", "status", "--json"],
    "verify --slot": ["verify", "--slot", "q1", "--no-runtime"],
}


def _project(tmp_path: Path, make_config: Callable[[Path], None]) -> Path:
    project = tmp_path / "project"
    (project / EXAM_MACHINE).mkdir(parents=True)
    (project / "train.py").write_text(f"open({SCRIPT_RAN!r}, 'w').write('ran')\n")
    make_config(project)
    return project


def _check(command: str, args: list[str], project: Path) -> None:
    before = snapshot(project)
    done = run_cli(args, cwd=project)
    outputs = Outputs(state=sync_state(project), target=project / EXAM_MACHINE)
    problems = contract_problems(done, {1, 2}, json_output="--json" in args)
    problems += tree_changes(before, snapshot(project), project, outputs, succeeded=False)
    if (project / SCRIPT_RAN).exists():
        problems.append("the training script ran although the config cannot be read")
    assert not problems, (
        f"`tfbridge {command}` with {project / CONFIG}: exit {done.returncode}, "
        f"stderr {first_line(done)!r}\n  " + "\n  ".join(problems)
    )


TRAIN_WITH_SYNC = ["train", "train.py", "--sync", "--profile", "exam", "--json"]


@pytest.fixture(scope="module")
def runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Future[object]]]:
    def reader(command: str, config: str) -> None:
        make = {**UNREADABLE_CONFIGS, **BAD_SLOT_MODELS}[config]
        root = tmp_path_factory.mktemp(config)
        _check(command, READERS[command], _project(root, make))
        shutil.rmtree(root)  # kept only when the case fails, to inspect

    def train_with_sync(config: str) -> None:
        root = tmp_path_factory.mktemp(config)
        _check("train --sync", TRAIN_WITH_SYNC, _project(root, UNREADABLE_CONFIGS[config]))
        shutil.rmtree(root)

    yield from run_selected_in_parallel(
        request,
        {
            test_a_config_that_cannot_be_read_is_one_error.__name__: reader,
            test_train_with_sync_stops_before_the_script_on_a_config_that_cannot_be_read.__name__: (
                train_with_sync
            ),
            test_a_slot_model_that_is_not_a_model_file_is_refused.__name__: reader,
        },
    )


@pytest.mark.parametrize("config", sorted(UNREADABLE_CONFIGS))
@pytest.mark.parametrize("command", sorted(READERS))
def test_a_config_that_cannot_be_read_is_one_error(
    command: str, config: str, runs: dict[str, Future[object]], request: pytest.FixtureRequest
) -> None:
    result_of(runs, request)


@pytest.mark.parametrize("config", sorted(UNREADABLE_CONFIGS))
def test_train_with_sync_stops_before_the_script_on_a_config_that_cannot_be_read(
    config: str, runs: dict[str, Future[object]], request: pytest.FixtureRequest
) -> None:
    result_of(runs, request)


@pytest.mark.parametrize("config", sorted(BAD_SLOT_MODELS))
@pytest.mark.parametrize("command", ["verify --slot"])
def test_a_slot_model_that_is_not_a_model_file_is_refused(
    command: str, config: str, runs: dict[str, Future[object]], request: pytest.FixtureRequest
) -> None:
    result_of(runs, request)
