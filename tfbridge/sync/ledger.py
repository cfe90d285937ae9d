"""The local ledger `.tfbridge/ledger.jsonl`: one JSON line per model sent or rolled back."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

LEDGER_FILENAME = "ledger.jsonl"


@dataclass(frozen=True)
class LedgerEntry:
    time: str
    action: str
    slot: str
    local_path: str
    remote_path: str
    sha256: str
    verdict: str
    target: str


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def append(state_dir: Path, entry: LedgerEntry) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    with (state_dir / LEDGER_FILENAME).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(asdict(entry), sort_keys=True) + "\n")


def read(state_dir: Path) -> list[LedgerEntry]:
    """All readable entries, oldest first; a damaged line is skipped, not fatal."""
    path = state_dir / LEDGER_FILENAME
    if not path.is_file():
        return []
    entries = []
    fields = set(LedgerEntry.__dataclass_fields__)
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            data = json.loads(line)
            entries.append(LedgerEntry(**{key: str(data[key]) for key in fields}))
        except (ValueError, KeyError, TypeError):
            continue
    return entries


def latest_by_slot(entries: list[LedgerEntry], target: str) -> dict[str, LedgerEntry]:
    latest: dict[str, LedgerEntry] = {}
    for entry in entries:
        if entry.target == target:
            latest[entry.slot] = entry
    return latest
