"""A no-op re-sync reads neither the local model nor its far-side copy when both still have the
stat the ledger recorded with their SHA-256 (stamps.py); any change there is hashed again and
caught, however its writer tried to hide it (same size, an older or restored mtime)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sshd_server
from counting_ssh import CountingSsh

from tfbridge.config import ProjectConfig, load_config
from tfbridge.paths import project_state_dir
from tfbridge.sync import ledger, sync
from tfbridge.sync.engine import open_transport
from tfbridge.sync.result import SyncReport
from tfbridge.sync.stamps import RACY_NS
from tfbridge.sync.transport import Transport
from tfbridge.verify.result import ModelReport

ProjectMaker = Callable[..., Path]


def _known_pass(models: object) -> list[ModelReport]:
    raise AssertionError("a model in place and verified against its contract is not verified")


def _settled(path: Path) -> None:
    """Wait until the model's last change is older than the racy window: only then may its stat
    stand for its content."""
    time.sleep(max(0.0, os.stat(path).st_ctime_ns + RACY_NS - time.time_ns()) / 1e9 + 0.1)


def _bytes_read_by_this_process() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


@pytest.fixture
def sent(make_project: ProjectMaker, dest: str, exam_dir: Path) -> Iterator[ProjectConfig]:
    """A project whose big model (about 5 MB) has been sent, settled before it was."""
    root = make_project(dest, {"q1": ("big", "Category1")})
    _settled(root / "models" / "q1.h5")
    config = load_config(root)
    assert [slot.action for slot in sync(config).slots] == ["sent"]
    yield config


def _entry(config: ProjectConfig) -> ledger.LedgerEntry:
    return ledger.read(project_state_dir(config.root))[-1]


def _far_model(exam_dir: Path) -> Path:
    return exam_dir / "Category1" / "q1.h5"


def test_a_send_records_both_stamps_and_gives_the_copy_an_mtime_before_its_upload(
    sent: ProjectConfig, exam_dir: Path
) -> None:
    entry = _entry(sent)
    local = os.stat(sent.root / "models" / "q1.h5")
    far = os.stat(_far_model(exam_dir))
    assert entry.local_stamp is not None and entry.local_stamp.ctime_ns == local.st_ctime_ns
    assert entry.remote_stamp is not None
    assert (entry.remote_stamp.size, entry.remote_stamp.mtime) == (far.st_size, int(far.st_mtime))
    assert far.st_mtime < far.st_ctime  # set back: a later write there cannot keep it


def test_a_no_op_reads_neither_model(sent: ProjectConfig, exam_dir: Path) -> None:
    far: Transport = open_transport(sent.require_target())
    if sent.require_target().host is not None:
        far.close()
        far = CountingSsh(sent.require_target())
    before = _bytes_read_by_this_process()
    try:
        report = sync(sent, gate=_known_pass, transport=far)
    finally:
        far.close()
    read = _bytes_read_by_this_process() - before
    assert [slot.action for slot in report.slots] == ["unchanged"]
    assert read < os.stat(_far_model(exam_dir)).st_size // 10  # neither copy was read
    if isinstance(far, CountingSsh):
        assert far.questions == [] and far.commands == []  # no far-side hashing at all


def _resync(config: ProjectConfig) -> SyncReport:
    return sync(config, gate=lambda models: [ModelReport(path, "pass") for path, _ in models])


def test_a_far_side_rewrite_of_the_same_size_with_an_older_mtime_is_caught(
    sent: ProjectConfig, exam_dir: Path
) -> None:
    far_model = _far_model(exam_dir)
    sent_bytes = far_model.read_bytes()
    other = _same_size_other_content(sent_bytes)
    far_model.write_bytes(other)
    older = int(os.stat(far_model).st_mtime) - 3600
    os.utime(far_model, (older, older))

    report = _resync(sent)
    assert [slot.action for slot in report.slots] == ["sent"]
    assert far_model.read_bytes() == sent_bytes


def test_a_far_side_rewrite_with_its_mtime_restored_is_not_seen_the_honest_bound(
    sent: ProjectConfig, exam_dir: Path
) -> None:
    """What SFTP cannot show (no ctime): a same-size rewrite given back the very mtime recorded.
    Pinned here so that the bound stays the one stamps.py states."""
    far_model = _far_model(exam_dir)
    recorded = os.stat(far_model)
    far_model.write_bytes(_same_size_other_content(far_model.read_bytes()))
    os.utime(far_model, ns=(recorded.st_atime_ns, recorded.st_mtime_ns))

    assert [slot.action for slot in _resync(sent).slots] == ["unchanged"]


def test_a_local_rewrite_of_the_same_size_with_its_mtime_restored_is_caught(
    sent: ProjectConfig, exam_dir: Path
) -> None:
    """The local stamp has the ctime, which no writer can set back."""
    model = sent.root / "models" / "q1.h5"
    recorded = os.stat(model)
    changed = _same_size_other_content(model.read_bytes())
    model.write_bytes(changed)
    os.utime(model, ns=(recorded.st_atime_ns, recorded.st_mtime_ns))

    report = _resync(sent)
    assert [slot.action for slot in report.slots] == ["sent"]
    assert _far_model(exam_dir).read_bytes() == changed


def _same_size_other_content(data: bytes) -> bytes:
    """The same HDF5 file with one byte of the last weight changed: same size, other content."""
    return data[:-100] + bytes([data[-100] ^ 0xFF]) + data[-99:]


def test_the_ssh_no_op_stays_off_the_hasher_even_with_three_slots(
    ssh_env: sshd_server.SshServer, make_project: ProjectMaker, exam_dir: Path
) -> None:
    root = make_project(
        f"{sshd_server.HOST_ALIAS}:{exam_dir}",
        {"q1": ("first", "Category1"), "q2": ("second", "Category2")},
    )
    for name in ("q1", "q2"):
        _settled(root / "models" / f"{name}.h5")
    config = load_config(root)
    assert [slot.action for slot in sync(config).slots] == ["sent", "sent"]
    far = CountingSsh(config.require_target())
    try:
        report = sync(config, gate=_known_pass, transport=far)
    finally:
        far.close()
    assert [slot.action for slot in report.slots] == ["unchanged", "unchanged"]
    assert far.questions == [] and far.commands == []
