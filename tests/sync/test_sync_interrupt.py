"""Ctrl-C, SIGTERM and kill -9 during a real upload (~40 MB), locally and over SSH: the slot holds
exactly one model at every moment, an interrupted run removes its upload, and the next run cleans
what a killed one left (its `.part`, and over SSH its lock)."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from sync_processes import SyncProcess, models_in, parts, start_sync, use_model, wait_until

from tests.conftest import run_tfbridge

ProjectMaker = Callable[..., Path]
SSH_LOCK = ".tfbridge-lock.d"


def _sync_stopped(
    make_project: ProjectMaker,
    dest: str,
    new_model: Path,
    reached: Callable[[], bool],
    stop: Callable[[SyncProcess], None],
) -> tuple[Path, int, str]:
    """Send the old model, then sync `new_model` and `stop` the run once `reached`; returns the
    project root and the stopped run's exit code and stderr."""
    root = make_project(dest)
    first = run_tfbridge("sync", cwd=root)
    assert first.returncode == 0, first.stderr
    use_model(new_model, root / "models" / "q1.h5")
    running = start_sync(root)
    wait_until(reached, running, "the upload reached the point to stop it at")
    stop(running)
    code, _, stderr = running.finish()
    return root, code, stderr


def _one_model_old_or_new(slot_dir: Path, models: dict[str, Path]) -> bytes:
    assert models_in(slot_dir) == ["q1.h5"]
    content = (slot_dir / "q1.h5").read_bytes()
    assert content in (models["first"].read_bytes(), models["huge"].read_bytes())
    return content


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_upload_is_removed_and_the_slot_keeps_one_model(
    dest: str,
    make_project: ProjectMaker,
    exam_dir: Path,
    models: dict[str, Path],
    signum: int,
) -> None:
    slot_dir = exam_dir / "Category1"
    root, code, stderr = _sync_stopped(
        make_project,
        dest,
        models["huge"],
        _upload_begun(slot_dir),
        lambda running: running.process.send_signal(signum),
    )
    assert code == 130, stderr
    assert "error: interrupted" in stderr and "Traceback" not in stderr
    assert parts(slot_dir) == [], "the interrupted run left its upload behind"
    assert _one_model_old_or_new(slot_dir, models) == models["first"].read_bytes()
    assert not (exam_dir / SSH_LOCK).exists(), "the lock was not released"

    again = run_tfbridge("sync", "--json", cwd=root)
    assert again.returncode == 0, again.stderr
    assert sorted(os.listdir(slot_dir)) == ["q1.h5"]
    assert (slot_dir / "q1.h5").read_bytes() == models["huge"].read_bytes()


def _upload_begun(slot_dir: Path) -> Callable[[], bool]:
    return lambda: bool(parts(slot_dir))


def _upload_complete(slot_dir: Path, size: int) -> Callable[[], bool]:
    """The whole model is there under its temporary name: checksum and placing come next."""

    def complete() -> bool:
        found = parts(slot_dir)
        try:
            return bool(found) and found[0].stat().st_size == size
        except FileNotFoundError:
            return False

    return complete


@pytest.mark.parametrize("point", ["upload-begun", "upload-complete"])
def test_kill_9_never_leaves_zero_or_two_models_and_the_next_run_cleans_up(
    dest: str,
    make_project: ProjectMaker,
    exam_dir: Path,
    models: dict[str, Path],
    point: str,
) -> None:
    slot_dir = exam_dir / "Category1"
    huge = models["huge"]
    reached = (
        _upload_begun(slot_dir)
        if point == "upload-begun"
        else _upload_complete(slot_dir, huge.stat().st_size)
    )
    root, code, _ = _sync_stopped(
        make_project, dest, huge, reached, lambda running: running.process.kill()
    )
    assert code == -signal.SIGKILL

    _one_model_old_or_new(slot_dir, models)
    assert len(parts(slot_dir)) <= 1

    again = run_tfbridge("sync", "--json", cwd=root)
    assert again.returncode == 0, again.stderr
    assert sorted(os.listdir(slot_dir)) == ["q1.h5"], "a leftover upload survived the next run"
    assert (slot_dir / "q1.h5").read_bytes() == huge.read_bytes()
    assert not (exam_dir / SSH_LOCK).exists()
