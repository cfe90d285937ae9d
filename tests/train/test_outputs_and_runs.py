"""What a run wrote (snapshots of real files) and the run log, without TensorFlow."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tfbridge.errors import TfbridgeError
from tfbridge.train.outputs import WrittenOutputs, snapshot_models, written_models
from tfbridge.train.runs import ModelOutcome, RunRecord, append_run, read_runs, runs_file


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_new_rewritten_and_changed_models_are_found_and_others_not(tmp_path: Path) -> None:
    unchanged = _write(tmp_path / "unchanged.h5", b"same")
    rewritten = _write(tmp_path / "nested" / "rewritten.h5", b"model-a")
    sneaky = _write(tmp_path / "sneaky.h5", b"model-1")
    _write(tmp_path / "notes.txt", b"not a model")
    before = snapshot_models(tmp_path)
    assert set(before.files) == {unchanged, rewritten, sneaky}

    created = _write(tmp_path / "q1" / "model.h5", b"new")
    os.utime(rewritten, ns=(0, before.files[rewritten].mtime_ns + 1_000_000_000))
    stat = sneaky.stat()
    sneaky.write_bytes(b"model-2")  # same size, same time restored: only the content differs
    os.utime(sneaky, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    assert written_models(before, tmp_path) == WrittenOutputs(
        sorted([created, rewritten, sneaky]), []
    )


def test_hidden_folders_and_virtual_environments_are_not_searched(tmp_path: Path) -> None:
    before = snapshot_models(tmp_path)
    _write(tmp_path / ".tfbridge" / "x.h5", b"x")
    _write(tmp_path / "venv" / "pyvenv.cfg", b"home = /usr")
    _write(tmp_path / "venv" / "lib" / "h5py" / "tests" / "data.h5", b"x")
    kept = _write(tmp_path / "models" / "kept.h5", b"x")
    assert written_models(before, tmp_path).models == [kept]


def _record(exit_code: int = 0, verdict: str = "pass") -> RunRecord:
    return RunRecord(
        started_at="2026-01-02T03:04:05+00:00",
        script="/p/train.py",
        args=["--epochs", "2"],
        profile="metal",
        python="/envs/metal/bin/python",
        device="GPU (/physical_device:GPU:0)",
        duration_seconds=12.5,
        exit_code=exit_code,
        models=[ModelOutcome("/p/model.h5", verdict, "/p/model.h5.fingerprint.json")],
    )


def test_runs_are_appended_and_read_back_in_order(tmp_path: Path) -> None:
    assert read_runs(tmp_path) == []
    first, second = _record(), _record(exit_code=1, verdict="fail")
    append_run(first, tmp_path)
    path = append_run(second, tmp_path)
    assert path == runs_file(tmp_path) == tmp_path / "runs.jsonl"
    assert read_runs(tmp_path) == [first, second]
    assert first.ok and not second.ok
    assert not _record(verdict="fail").ok


def test_a_damaged_run_log_names_the_line(tmp_path: Path) -> None:
    append_run(_record(), tmp_path)
    with runs_file(tmp_path).open("a") as log:
        log.write('{"script": "half a record"}\n')
    with pytest.raises(TfbridgeError, match=r"runs.jsonl:2 is not a run record") as raised:
        read_runs(tmp_path)
    assert "delete that line" in raised.value.hint
