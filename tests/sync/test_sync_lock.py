"""One sync per target at a time: real concurrent processes, a lock held by this test, and stale
SSH locks (a dead owner on this host, an old one from elsewhere) that are broken."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
import sshd_server
from sync_processes import models_in, parts, start_sync, use_model, wait_until

from tests.conftest import assert_one_line_error, run_tfbridge
from tfbridge.config import load_config
from tfbridge.sync.engine import connected
from tfbridge.sync.lock import LOCK_DIRNAME, OWNER_FILENAME, STALE_AFTER, Owner, target_lock
from tfbridge.sync.transport import Transport

ProjectMaker = Callable[..., Path]


def _sent_then_changed(make_project: ProjectMaker, dest: str, new_model: Path) -> Path:
    root = make_project(dest)
    first = run_tfbridge("sync", cwd=root)
    assert first.returncode == 0, first.stderr
    use_model(new_model, root / "models" / "q1.h5")
    return root


def test_two_syncs_at_once_both_end_well_with_one_model(
    dest: str, make_project: ProjectMaker, exam_dir: Path, models: dict[str, Path]
) -> None:
    root = _sent_then_changed(make_project, dest, models["huge"])
    runs = [start_sync(root, "--json", name=f"run{i}") for i in (1, 2)]
    results = [run.finish() for run in runs]

    assert [code for code, _, _ in results] == [0, 0], [err for _, _, err in results]
    actions = sorted(json.loads(out)["slots"][0]["action"] for _, out, _ in results)
    assert actions == ["sent", "unchanged"], "the second run must see the first one's model"
    slot_dir = exam_dir / "Category1"
    assert sorted(os.listdir(slot_dir)) == ["q1.h5"]
    assert (slot_dir / "q1.h5").read_bytes() == models["huge"].read_bytes()
    assert len(os.listdir(exam_dir / ".tfbridge-history" / "q1")) == 1


@contextmanager
def _lock_held_here(root: Path) -> Iterator[Transport]:
    """The target's lock, taken by this test process through its own connection."""
    with (
        connected(load_config(root).require_target()) as far,
        target_lock(far, wait=0, on_wait=print),
    ):
        yield far


def test_a_held_lock_makes_sync_wait_and_say_so_then_proceed(
    dest: str, make_project: ProjectMaker, exam_dir: Path, models: dict[str, Path]
) -> None:
    root = _sent_then_changed(make_project, dest, models["second"])
    with _lock_held_here(root):
        running = start_sync(root, "--wait", "120")
        wait_until(lambda: "waiting up to 120 s" in running.stderr, running, "it waited")
        assert models_in(exam_dir / "Category1") == ["q1.h5"]
        assert (exam_dir / "Category1" / "q1.h5").read_bytes() == models["first"].read_bytes()
    code, _, stderr = running.finish()
    assert code == 0, stderr
    assert f"process {os.getpid()} on {socket.gethostname()}" in stderr
    assert (exam_dir / "Category1" / "q1.h5").read_bytes() == models["second"].read_bytes()


def test_a_lock_held_past_the_wait_is_exit_3_naming_the_holder(
    dest: str, make_project: ProjectMaker, exam_dir: Path, models: dict[str, Path]
) -> None:
    root = _sent_then_changed(make_project, dest, models["second"])
    with _lock_held_here(root) as far:
        # another process: the lock knows its holder by host and pid
        done = run_tfbridge("sync", "--wait", "1", "--json", cwd=root, process=True)
    line = assert_one_line_error(done, code=3)
    assert f"another tfbridge run is syncing to {far.describe(far.root)}" in line
    assert f"process {os.getpid()} on {socket.gethostname()}" in line
    assert json.loads(done.stdout)["error"]["exit_code"] == 3
    assert (exam_dir / "Category1" / "q1.h5").read_bytes() == models["first"].read_bytes()
    assert parts(exam_dir / "Category1") == []


def _dead_pid() -> int:
    finished = subprocess.Popen(["true"])
    finished.wait()
    return finished.pid


@pytest.mark.parametrize(
    ("holder", "broken"),
    [
        ("dead process on this host", True),
        ("another host, not refreshed for too long", True),
        ("same host name, another machine, dead pid here", False),
        ("another host, fresh", False),
    ],
)
def test_ssh_lock_is_broken_only_when_stale(
    ssh_env: sshd_server.SshServer,
    make_project: ProjectMaker,
    exam_dir: Path,
    models: dict[str, Path],
    holder: str,
    broken: bool,
) -> None:
    root = _sent_then_changed(
        make_project, f"{sshd_server.HOST_ALIAS}:{exam_dir}", models["second"]
    )
    here = Owner.me()
    elsewhere = replace(here, host="elsewhere", machine="0242ac110002", pid=1)
    owner = {
        "dead process on this host": replace(here, pid=_dead_pid()),
        "same host name, another machine, dead pid here": replace(
            elsewhere, host=here.host, pid=_dead_pid()
        ),
        "another host, not refreshed for too long": replace(
            elsewhere, time=time.time() - STALE_AFTER - 60
        ),
        "another host, fresh": elsewhere,
    }[holder]
    lock_dir = exam_dir / LOCK_DIRNAME
    lock_dir.mkdir()
    (lock_dir / OWNER_FILENAME).write_bytes(owner.to_bytes())

    done = run_tfbridge("sync", "--wait", "1", cwd=root)

    slot_model = (exam_dir / "Category1" / "q1.h5").read_bytes()
    if broken:
        assert done.returncode == 0, done.stderr
        assert slot_model == models["second"].read_bytes()
        assert not lock_dir.exists()
    else:
        assert f"process {owner.pid} on {owner.host}" in assert_one_line_error(done, code=3)
        assert slot_model == models["first"].read_bytes()
        assert lock_dir.is_dir()
