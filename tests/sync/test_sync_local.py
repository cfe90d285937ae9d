"""Sync into a local directory target: the same slot logic as over SSH, on a real file system."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_tfbridge
from tfbridge.config import load_config
from tfbridge.errors import TfbridgeError
from tfbridge.sync import rollback, sync
from tfbridge.sync.local import LocalTransport
from tfbridge.sync.transport import BytesProgress

ProjectMaker = Callable[..., Path]


class WatchedTransport(LocalTransport):
    """A real local transport that counts the slot's .h5 files after every change it makes."""

    def __init__(self, root: str, slot_dir: Path) -> None:
        super().__init__(root)
        self.slot_dir = slot_dir
        self.counts: list[int] = []

    def _look(self) -> None:
        if self.slot_dir.is_dir():
            self.counts.append(len([n for n in os.listdir(self.slot_dir) if n.endswith(".h5")]))

    def put(self, local: str, remote: str, progress: BytesProgress | None = None) -> str:
        sent = super().put(local, remote, progress)
        self._look()
        return sent

    def rename(self, source: str, destination: str) -> None:
        super().rename(source, destination)
        self._look()

    def link(self, source: str, destination: str) -> None:
        super().link(source, destination)
        self._look()

    def remove(self, path: str) -> None:
        super().remove(path)
        self._look()


def tfbridge(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_tfbridge(*args, cwd=root)


def as_json(done: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(done.stdout)


def test_first_sync_sends_then_nothing_is_sent_again(
    make_project: ProjectMaker, exam_dir: Path
) -> None:
    root = make_project(str(exam_dir))
    done = tfbridge(root, "sync", "--json")
    assert done.returncode == 0, done.stderr
    [slot] = as_json(done)["slots"]
    assert (slot["action"], slot["verdict"]) == ("sent", "pass")
    placed = exam_dir / "Category1" / "q1.h5"
    assert placed.read_bytes() == (root / "models" / "q1.h5").read_bytes()
    entries = (root / ".tfbridge" / "ledger.jsonl").read_text().splitlines()
    assert json.loads(entries[0])["sha256"] == slot["sha256"]
    before = placed.stat().st_mtime_ns
    again = tfbridge(root, "sync", "--json")
    assert as_json(again)["slots"][0]["action"] == "unchanged"
    assert placed.stat().st_mtime_ns == before
    assert len((root / ".tfbridge" / "ledger.jsonl").read_text().splitlines()) == 1


def test_replacing_a_differently_named_model_never_leaves_zero_or_two(
    make_project: ProjectMaker, exam_dir: Path, models: dict[str, Path]
) -> None:
    root = make_project(str(exam_dir))
    slot_dir = exam_dir / "Category1"
    slot_dir.mkdir()
    (slot_dir / "old_name.h5").write_bytes(models["second"].read_bytes())
    watched = WatchedTransport(str(exam_dir), slot_dir)
    report = sync(load_config(root), transport=watched)
    assert report.slots[0].action == "sent"
    assert watched.counts and set(watched.counts) == {1}
    assert sorted(os.listdir(slot_dir)) == ["q1.h5"]
    [archived] = report.slots[0].replaced
    assert Path(archived).read_bytes() == models["second"].read_bytes()
    assert Path(archived).parent == exam_dir / ".tfbridge-history" / "q1"

    back = rollback(load_config(root), "q1", transport=watched)
    assert sorted(os.listdir(slot_dir)) == ["old_name.h5"]
    assert (slot_dir / "old_name.h5").read_bytes() == models["second"].read_bytes()
    assert back.sha256 == hashlib.sha256(models["second"].read_bytes()).hexdigest()
    rollback(load_config(root), "q1", transport=watched)
    assert sorted(os.listdir(slot_dir)) == ["q1.h5"]
    assert (slot_dir / "q1.h5").read_bytes() == models["first"].read_bytes()
    assert set(watched.counts) == {1}


def test_extra_models_in_a_slot_end_as_exactly_one(
    make_project: ProjectMaker, exam_dir: Path, models: dict[str, Path]
) -> None:
    root = make_project(str(exam_dir))
    slot_dir = exam_dir / "Category1"
    slot_dir.mkdir()
    for name in ("a.h5", "b.h5"):
        (slot_dir / name).write_bytes(models["second"].read_bytes())
    watched = WatchedTransport(str(exam_dir), slot_dir)
    sync(load_config(root), transport=watched)
    assert sorted(os.listdir(slot_dir)) == ["q1.h5"]
    assert min(watched.counts) >= 1


def test_leftover_upload_is_cleaned_by_the_next_run(
    make_project: ProjectMaker, exam_dir: Path
) -> None:
    root = make_project(str(exam_dir))
    slot_dir = exam_dir / "Category1"
    slot_dir.mkdir()
    (slot_dir / ".tfbridge-upload-0123456789ab.part").write_bytes(b"half a model")
    report = sync(load_config(root))
    assert report.cleaned_temps == 1
    assert sorted(os.listdir(slot_dir)) == ["q1.h5"]


def test_failing_model_is_refused_unless_forced(
    make_project: ProjectMaker, exam_dir: Path, models: dict[str, Path]
) -> None:
    root = make_project(str(exam_dir))
    assert tfbridge(root, "sync").returncode == 0
    (root / "models" / "q1.h5").write_bytes(models["bad"].read_bytes())
    refused = tfbridge(root, "sync", "--json")
    assert refused.returncode == 1
    [slot] = as_json(refused)["slots"]
    assert (slot["action"], slot["verdict"]) == ("refused", "fail")
    assert slot["problems"]
    assert (exam_dir / "Category1" / "q1.h5").read_bytes() == models["first"].read_bytes()
    forced = tfbridge(root, "sync", "--force", "--json")
    assert as_json(forced)["slots"][0]["action"] == "sent"
    assert (exam_dir / "Category1" / "q1.h5").read_bytes() == models["bad"].read_bytes()


def test_dry_run_changes_nothing(make_project: ProjectMaker, exam_dir: Path) -> None:
    root = make_project(str(exam_dir))
    done = tfbridge(root, "sync", "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    assert as_json(done)["slots"][0]["action"] == "would-send"
    assert os.listdir(exam_dir) == []
    assert not (root / ".tfbridge" / "ledger.jsonl").exists()


def test_slot_symlinked_out_of_the_target_is_refused(
    make_project: ProjectMaker, exam_dir: Path, tmp_path: Path
) -> None:
    root = make_project(str(exam_dir))
    outside = tmp_path / "outside"
    outside.mkdir()
    (exam_dir / "Category1").symlink_to(outside)
    with pytest.raises(TfbridgeError, match="escapes the target"):
        sync(load_config(root))
    assert os.listdir(outside) == []


def test_missing_local_model_is_one_clear_line(make_project: ProjectMaker, exam_dir: Path) -> None:
    root = make_project(str(exam_dir))
    (root / "models" / "q1.h5").unlink()
    done = tfbridge(root, "sync")
    assert done.returncode == 2
    assert done.stderr.startswith("error: slot q1: model file ")
    assert "no such file" in done.stderr and done.stderr.count("\n") == 1


def test_status_compares_ledger_local_and_far_side(
    make_project: ProjectMaker, exam_dir: Path, models: dict[str, Path]
) -> None:
    root = make_project(str(exam_dir))
    assert as_json(tfbridge(root, "sync", "status", "--json"))["slots"][0]["state"] == "not-synced"
    tfbridge(root, "sync")
    in_sync = tfbridge(root, "sync", "status", "--json")
    assert in_sync.returncode == 0
    assert as_json(in_sync)["slots"][0]["state"] == "in-sync"
    local = root / "models" / "q1.h5"
    local.write_bytes(models["second"].read_bytes())
    changed = tfbridge(root, "sync", "status", "--json")
    assert changed.returncode == 1
    assert as_json(changed)["slots"][0]["state"] == "local-changed"
    (exam_dir / "Category1" / "q1.h5").write_bytes(models["big"].read_bytes())
    assert as_json(tfbridge(root, "sync", "status", "--json"))["slots"][0]["state"] == (
        "remote-changed"
    )
    local.unlink()
    assert as_json(tfbridge(root, "sync", "status", "--json"))["slots"][0]["state"] == (
        "local-missing"
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tiny tmpfs needs root")
def test_full_disk_keeps_the_previous_model(
    make_project: ProjectMaker, tmp_path: Path, models: dict[str, Path]
) -> None:
    small = tmp_path / "small-disk"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(small)], check=True)
    try:
        root = make_project(str(small), slots={"q1": ("big", "Category1")})
        (small / "Category1").mkdir()
        (small / "Category1" / "q1.h5").write_bytes(models["first"].read_bytes())
        done = tfbridge(root, "sync")
        assert done.returncode == 3
        assert "not enough space" in done.stderr
        assert os.listdir(small / "Category1") == ["q1.h5"]
        assert (small / "Category1" / "q1.h5").read_bytes() == models["first"].read_bytes()
    finally:
        subprocess.run(["umount", str(small)], check=True)


def test_models_leaving_are_verified_in_one_batch_and_in_place_ones_not_again(
    make_project: ProjectMaker, exam_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tfbridge.sync.engine import verify_gate

    batches: list[list[str]] = []

    def recording_gate(models: Any) -> Any:
        batches.append([model.name for model, _ in models])
        return verify_gate(models)

    root = make_project(
        str(exam_dir), slots={"q1": ("first", "Category1"), "q2": ("second", "Category2")}
    )
    monkeypatch.chdir(root)
    first = sync(load_config(root), gate=recording_gate)
    assert [(s.slot, s.action, s.verdict) for s in first.slots] == [
        ("q1", "sent", "pass"),
        ("q2", "sent", "pass"),
    ]
    assert batches == [["q1.h5", "q2.h5"]]
    (root / "models" / "q2.h5").write_bytes((root / "models" / "q1.h5").read_bytes())
    second = sync(load_config(root), gate=recording_gate)
    assert [(s.slot, s.action) for s in second.slots] == [("q1", "unchanged"), ("q2", "sent")]
    assert batches[1] == ["q2.h5"]
    third = sync(load_config(root), gate=recording_gate)
    assert [s.action for s in third.slots] == ["unchanged", "unchanged"]
    assert len(batches) == 2, "nothing left, so nothing was verified"
