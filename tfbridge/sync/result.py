"""What sync, status and rollback report; the CLI renders these as tables or JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Action = Literal["sent", "would-send", "renamed", "unchanged", "refused"]
# How a slot's local model, ledger entry and far-side model agree (`sync status`).
SyncState = Literal[
    "in-sync", "local-changed", "remote-changed", "not-synced", "local-missing", "multiple-models"
]


@dataclass
class RemoteVerdict:
    verdict: Literal["pass", "fail"]
    message: str
    tf_version: str | None = None


@dataclass
class SlotSync:
    slot: str
    action: Action
    local_path: Path
    remote_path: str
    sha256: str
    verdict: str
    problems: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    remote: RemoteVerdict | None = None

    @property
    def failed(self) -> bool:
        return self.action == "refused" or (
            self.remote is not None and self.remote.verdict == "fail"
        )


@dataclass
class SyncReport:
    target: str
    dry_run: bool
    slots: list[SlotSync] = field(default_factory=list)
    cleaned_temps: int = 0

    @property
    def failed(self) -> bool:
        return any(slot.failed for slot in self.slots)


@dataclass
class SlotStatus:
    slot: str
    state: SyncState
    local_path: Path
    local_sha256: str | None
    remote_models: list[str]
    remote_sha256: str | None
    ledger_sha256: str | None
    ledger_time: str | None
    message: str


@dataclass
class StatusReport:
    target: str
    slots: list[SlotStatus] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(slot.state != "in-sync" for slot in self.slots)


@dataclass
class RollbackResult:
    slot: str
    dry_run: bool
    restored: str
    sha256: str
    remote_path: str
    replaced: list[str] = field(default_factory=list)
