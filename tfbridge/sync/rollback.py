"""`tfbridge sync rollback SLOT`: put the previous model back, as atomically as a sync."""

from __future__ import annotations

from tfbridge.config import ProjectConfig
from tfbridge.errors import EXIT_FAILED, TfbridgeError
from tfbridge.paths import project_state_dir
from tfbridge.sync import ledger
from tfbridge.sync import slot as slots
from tfbridge.sync.engine import connected, exclusive
from tfbridge.sync.lock import DEFAULT_WAIT
from tfbridge.sync.result import ProgressCallback, RollbackResult, SyncEvent
from tfbridge.sync.transport import Transport


def rollback(
    config: ProjectConfig,
    name: str,
    *,
    dry_run: bool = False,
    wait: float = DEFAULT_WAIT,
    progress: ProgressCallback | None = None,
    transport: Transport | None = None,
) -> RollbackResult:
    """Restore the newest history entry that differs from the slot's model; the model it
    replaces goes to history, so a second rollback undoes the first. Holds the target's lock."""
    target = config.require_target()
    slot = config.select([name])[0]
    notify = progress or (lambda event: None)
    with (
        connected(target, transport) as far,
        exclusive(far, wait=wait, notify=notify, dry_run=dry_run),
    ):
        slots.check_distinct(far, config.slots.values())
        directory = slots.slot_directory(far, slot, create=False)
        history = slots.history_directory(far, slot, create=False)
        state = slots.read_slot(far, directory)
        current = {far.sha256(state.path(model))[:8] for model in state.models}
        candidates = [e for e in slots.history_entries(far, history) if e.sha8 not in current]
        if directory is None or history is None or not candidates:
            raise TfbridgeError(
                f"slot {name} has no earlier model to roll back to",
                hint="history is kept only for models `tfbridge sync` replaced",
                exit_code=EXIT_FAILED,
            )
        entry = candidates[0]
        result = RollbackResult(name, dry_run, entry.path, "", state.path(entry.original_name))
        if dry_run:
            return result
        notify(SyncEvent(name, "rollback"))
        slots.clean_temps(far, directory)
        state = slots.read_slot(far, directory)
        result.sha256 = far.sha256(entry.path)
        temp = slots.copy_within(far, entry.path, directory, result.sha256)
        result.replaced = slots.place(far, state, temp, entry.original_name, history)
    ledger.append(
        project_state_dir(config.root),
        ledger.LedgerEntry(
            time=ledger.now(),
            action="rollback",
            slot=name,
            local_path="",
            remote_path=result.remote_path,
            sha256=result.sha256,
            verdict="",
            target=target.describe(),
        ),
    )
    return result
