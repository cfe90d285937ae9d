"""`tfbridge sync rollback SLOT`: put the previous model back, as atomically as a sync."""

from __future__ import annotations

from tfbridge.config import ProjectConfig, Slot
from tfbridge.errors import EXIT_FAILED, TfbridgeError
from tfbridge.paths import project_state_dir
from tfbridge.phases import Phase, PhaseCallback
from tfbridge.sync import ledger
from tfbridge.sync import slot as slots
from tfbridge.sync.engine import connected, exclusive
from tfbridge.sync.lock import DEFAULT_WAIT
from tfbridge.sync.result import RollbackResult
from tfbridge.sync.transport import Transport


def rollback(
    config: ProjectConfig,
    name: str,
    *,
    dry_run: bool = False,
    wait: float = DEFAULT_WAIT,
    progress: PhaseCallback | None = None,
    transport: Transport | None = None,
) -> RollbackResult:
    """Restore the newest history entry that differs from the slot's model; the model it
    replaces goes to history, so a second rollback undoes the first. Holds the target's lock."""
    target = config.require_target()
    slot = config.select([name])[0]
    notify = progress or (lambda event: None)
    with connected(target, transport) as far:
        slots.check_distinct(far, config.slots.values())
        with exclusive(far, wait=wait, notify=notify, dry_run=dry_run):
            result = _restore(far, slot, dry_run=dry_run, notify=notify)
            if not dry_run:
                ledger.append(project_state_dir(config.root), _entry(result, target.describe()))
    return result


def _restore(
    transport: Transport, slot: Slot, *, dry_run: bool, notify: PhaseCallback
) -> RollbackResult:
    directory = slots.slot_directory(transport, slot, create=False)
    history = slots.history_directory(transport, slot, create=False)
    state = slots.read_slot(transport, directory)
    current = {transport.sha256(state.path(model))[:8] for model in state.models}
    candidates = [e for e in slots.history_entries(transport, history) if e.sha8 not in current]
    if directory is None or history is None or not candidates:
        raise TfbridgeError(
            f"slot {slot.name} has no earlier model to roll back to",
            hint="history is kept only for models `tfbridge sync` replaced",
            exit_code=EXIT_FAILED,
        )
    entry = candidates[0]
    result = RollbackResult(slot.name, dry_run, entry.path, "", state.path(entry.original_name))
    if dry_run:
        return result
    notify(Phase(slot.name, "rollback"))
    slots.clean_temps(transport, directory)
    state = slots.read_slot(transport, directory)
    result.sha256 = transport.sha256(entry.path)
    temp = slots.copy_within(transport, entry.path, directory, result.sha256)
    result.replaced = slots.place(transport, state, temp, entry.original_name, history)
    return result


def _entry(result: RollbackResult, target: str) -> ledger.LedgerEntry:
    return ledger.LedgerEntry(
        time=ledger.now(),
        action="rollback",
        slot=result.slot,
        local_path="",
        remote_path=result.remote_path,
        sha256=result.sha256,
        verdict="",
        target=target,
    )
