"""A training script can leave anything named `*.h5`: the output scan reads regular files only,
sets the rest aside with the reason, and the run log survives damage. Real special files, no TF."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
from pathlib import Path

import msgspec
import pytest

from tfbridge.errors import TfbridgeError
from tfbridge.train.outputs import (
    SkippedOutput,
    Snapshot,
    WrittenOutputs,
    snapshot_models,
    written_models,
)
from tfbridge.train.runs import ModelOutcome, RunRecord, append_run, read_runs, runs_file

SCAN_BOUND_SECONDS = 10


def _special_entries(directory: Path) -> dict[str, str]:
    """Make every kind of non-file named `*.h5`; the reason each must be refused with."""
    os.mkfifo(directory / "fifo.h5")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(directory / "socket.h5"))
    server.close()
    os.symlink("loop-b.h5", directory / "loop-a.h5")
    os.symlink("loop-a.h5", directory / "loop-b.h5")
    os.symlink("missing.h5", directory / "dangling.h5")
    os.symlink("/dev/zero", directory / "device.h5")
    return {
        "fifo.h5": "a FIFO (named pipe), not a regular file",
        "socket.h5": "a socket, not a regular file",
        "loop-a.h5": "a symbolic link loop",
        "loop-b.h5": "a symbolic link loop",
        "dangling.h5": "a broken symbolic link",
        "device.h5": "a character device, not a regular file",
    }


def _scan_within_bound(before: Snapshot, directory: Path) -> WrittenOutputs:
    """Run the scan in a thread so a FIFO that blocks it fails the test instead of hanging it."""
    found: list[WrittenOutputs] = []
    scan = threading.Thread(target=lambda: found.append(written_models(before, directory)))
    scan.daemon = True
    scan.start()
    scan.join(SCAN_BOUND_SECONDS)
    if not found:
        # Unblock a reader stuck on the FIFO so the thread can end.
        with open(directory / "fifo.h5", "wb"):
            pass
        pytest.fail(f"the output scan blocked for {SCAN_BOUND_SECONDS} s")
    return found[0]


def test_special_files_named_h5_are_refused_with_the_reason_and_real_models_found(
    tmp_path: Path,
) -> None:
    before = snapshot_models(tmp_path)
    reasons = _special_entries(tmp_path)
    (tmp_path / "dir.h5").mkdir()  # a folder is walked into, not reported
    real = tmp_path / "real.h5"
    real.write_bytes(b"model bytes")
    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")

    written = _scan_within_bound(before, tmp_path)

    assert written.models == [empty, real]
    assert written.skipped == [
        SkippedOutput(str(tmp_path / name), reason) for name, reason in sorted(reasons.items())
    ]
    assert (tmp_path / "fifo.h5").exists() and real.read_bytes() == b"model bytes"


def test_special_files_already_there_are_not_reported_again(tmp_path: Path) -> None:
    _special_entries(tmp_path)
    before = snapshot_models(tmp_path)
    assert set(before.refused) == set(tmp_path.iterdir())
    written = written_models(before, tmp_path)
    assert (written.models, written.skipped) == ([], [])


def _record(**changes: object) -> RunRecord:
    fields: dict[str, object] = {
        "started_at": "2026-01-02T03:04:05+00:00",
        "script": "/p/train.py",
        "args": [],
        "profile": "exam",
        "python": "/envs/exam/bin/python",
        "device": "CPU",
        "duration_seconds": 1.0,
        "exit_code": 0,
    }
    return RunRecord(**{**fields, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("record", "described", "ok"),
    [
        (_record(), "exited 0", True),
        (_record(exit_code=3), "FAILED with exit code 3", False),
        (_record(exit_code=-signal.SIGKILL), "killed by SIGKILL", False),
        (_record(exit_code=-signal.SIGSEGV), "killed by SIGSEGV", False),
        (_record(exit_code=-130), "killed by signal 130", False),
        (_record(exit_code=-2, interrupted=True), "interrupted", False),
    ],
)
def test_how_a_run_ended_is_said_plainly(record: RunRecord, described: str, ok: bool) -> None:
    assert record.describe_exit() == described
    assert record.ok is ok


def test_skipped_outputs_and_interruptions_are_kept_in_the_log(tmp_path: Path) -> None:
    record = _record(
        exit_code=-2,
        interrupted=True,
        models=[ModelOutcome("/p/m.h5", "skip", None, "not checked: the run was interrupted")],
        skipped=[SkippedOutput("/p/x.h5", "a FIFO (named pipe), not a regular file")],
    )
    append_run(record, tmp_path)
    assert read_runs(tmp_path) == [record]


def test_a_record_from_before_skipped_and_interrupted_existed_still_reads(tmp_path: Path) -> None:
    old = msgspec.to_builtins(_record())
    del old["skipped"], old["interrupted"]
    runs_file(tmp_path).write_text(json.dumps(old) + "\n")
    assert read_runs(tmp_path) == [_record()]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe not text\n", "not UTF-8 text"),
        (b"[1, 2, 3]\n", "runs.jsonl:1 is not a run record"),
        (b"[" * 50_000 + b"\n", "runs.jsonl:1 is not a run record"),
        (b'{"models": [5]}\n', "runs.jsonl:1 is not a run record"),
    ],
)
def test_a_damaged_log_is_one_error_naming_it(tmp_path: Path, content: bytes, message: str) -> None:
    runs_file(tmp_path).write_bytes(content)
    with pytest.raises(TfbridgeError, match=message):
        read_runs(tmp_path)


def test_a_fifo_in_place_of_the_log_is_refused_not_waited_on(tmp_path: Path) -> None:
    os.mkfifo(runs_file(tmp_path))
    with pytest.raises(TfbridgeError, match="a FIFO"):
        read_runs(tmp_path)
    with pytest.raises(TfbridgeError, match="a FIFO"):
        append_run(_record(), tmp_path)
    assert runs_file(tmp_path).is_fifo()


def test_appending_keeps_earlier_lines_and_mends_a_missing_newline(tmp_path: Path) -> None:
    append_run(_record(), tmp_path)
    path = runs_file(tmp_path)
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    append_run(_record(exit_code=1), tmp_path)
    assert read_runs(tmp_path) == [_record(), _record(exit_code=1)]
    assert [p.name for p in tmp_path.iterdir()] == ["runs.jsonl"]  # no temporary left behind
