"""The local ledger `.tfbridge/ledger.jsonl`: one JSON line per model sent, verified in place or
rolled back, with the digest of the slot contract it was verified against."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from tfbridge import records
from tfbridge.contract import Contract
from tfbridge.errors import TfbridgeError
from tfbridge.files import regular_file_problem, write_bytes_atomic
from tfbridge.sync.stamps import LocalStamp, RemoteStamp

LEDGER_FILENAME = "ledger.jsonl"


class LedgerEntry(records.Record, frozen=True):
    time: str
    action: Literal["sync", "verify", "rollback"]  # sent, verified where it stands, rolled back
    slot: str
    local_path: str
    remote_path: str
    sha256: str
    verdict: str
    target: str
    contract: str = ""  # contract_digest() of the slot's contract when verified; "" if not
    # the local file's and the far-side copy's stat while they held `sha256` (see stamps.py)
    local_stamp: LocalStamp | None = None
    remote_stamp: RemoteStamp | None = None


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def contract_digest(contract: Contract) -> str:
    """Changes with the contract: a model verified against another contract is verified again."""
    text = json.dumps(asdict(contract), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def append(state_dir: Path, entry: LedgerEntry) -> None:
    """Add one line; the file is replaced whole, never left half-written."""
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TfbridgeError(f"cannot create {state_dir}: {error.strerror}") from None
    path = state_dir / LEDGER_FILENAME
    write_bytes_atomic(path, _read_bytes(path) + records.encode_json_line(entry))


def read(state_dir: Path) -> list[LedgerEntry]:
    """All valid entries, oldest first. A damaged line is skipped, not fatal: its slot's state is
    then unknown (the model is verified and compared again), never a pass."""
    lines = _read_bytes(state_dir / LEDGER_FILENAME).splitlines()
    decoded = (records.decode_json(line, LedgerEntry) for line in lines if line.strip())
    return [entry for entry in decoded if isinstance(entry, LedgerEntry)]


def _read_bytes(path: Path) -> bytes:
    """The ledger's bytes; none when it is missing. Anything but a readable file is refused."""
    if not path.exists():
        return b""
    problem = regular_file_problem(path)
    if problem is None:
        try:
            return path.read_bytes()
        except OSError as error:
            problem = error.strerror or type(error).__name__
    raise TfbridgeError(
        f"the sync ledger {path}: {problem}", hint="move it aside; tfbridge starts a new one"
    )


def latest_by_slot(entries: list[LedgerEntry], target: str) -> dict[str, LedgerEntry]:
    latest: dict[str, LedgerEntry] = {}
    for entry in entries:
        if entry.target == target:
            latest[entry.slot] = entry
    return latest
