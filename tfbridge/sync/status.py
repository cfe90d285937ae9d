"""`tfbridge sync status`: the ledger, the local files and the far side, side by side."""

from __future__ import annotations

from collections.abc import Sequence

from tfbridge.config import ProjectConfig, Slot
from tfbridge.files import regular_file_problem
from tfbridge.hashing import file_sha256
from tfbridge.paths import project_state_dir
from tfbridge.sync import ledger
from tfbridge.sync import slot as slots
from tfbridge.sync.engine import connected
from tfbridge.sync.result import SlotStatus, StatusReport
from tfbridge.sync.transport import Transport


def status(
    config: ProjectConfig, names: Sequence[str] = (), transport: Transport | None = None
) -> StatusReport:
    """Read-only: nothing is created, cleaned or sent."""
    target = config.require_target()
    report = StatusReport(target=target.describe())
    latest = ledger.latest_by_slot(ledger.read(project_state_dir(config.root)), report.target)
    with connected(target, transport) as far:
        slots.check_distinct(far, config.slots.values())
        for slot in config.select(list(names)):
            report.slots.append(_slot_status(far, slot, latest.get(slot.name)))
    return report


def _slot_status(transport: Transport, slot: Slot, entry: ledger.LedgerEntry | None) -> SlotStatus:
    local_sha = file_sha256(slot.model) if regular_file_problem(slot.model) is None else None
    state = slots.read_slot(transport, slots.slot_directory(transport, slot, create=False))
    remote_sha = transport.sha256(state.path(state.models[0])) if len(state.models) == 1 else None
    ledger_sha = entry.sha256 if entry else None
    result = SlotStatus(
        slot=slot.name,
        state="in-sync",
        local_path=slot.model,
        local_sha256=local_sha,
        remote_models=state.models,
        remote_sha256=remote_sha,
        ledger_sha256=ledger_sha,
        ledger_time=entry.time if entry else None,
        message="",
    )
    _judge(result)
    return result


def _judge(result: SlotStatus) -> None:
    """Name the state and say what to do; first matching rule wins."""
    if result.local_sha256 is None:
        problem = regular_file_problem(result.local_path) or "cannot be read"
        result.state, result.message = "local-missing", f"{result.local_path}: {problem}"
    elif len(result.remote_models) > 1:
        result.state = "multiple-models"
        result.message = "the slot holds several .h5 files; `tfbridge sync` leaves exactly one"
    elif not result.remote_models:
        result.state, result.message = "not-synced", "the slot holds no model; run `tfbridge sync`"
    elif result.remote_sha256 == result.local_sha256:
        result.state, result.message = "in-sync", "the slot holds the local model"
    elif result.ledger_sha256 is not None and result.remote_sha256 != result.ledger_sha256:
        result.state = "remote-changed"
        result.message = "the slot's model is not the one tfbridge last sent (changed there?)"
    elif result.ledger_sha256 is None:
        result.state = "not-synced"
        result.message = "the slot holds a model tfbridge never sent; run `tfbridge sync`"
    else:
        result.state = "local-changed"
        result.message = "the local model changed since it was sent; run `tfbridge sync`"
