"""`tfbridge sync`: gate each model with verify, then put it in its slot atomically, once."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from tfbridge.config import ProjectConfig, Slot, Target
from tfbridge.contract import Contract
from tfbridge.errors import TfbridgeError
from tfbridge.hashing import file_sha256
from tfbridge.paths import project_state_dir
from tfbridge.sync import ledger
from tfbridge.sync import slot as slots
from tfbridge.sync.result import (
    ProgressCallback,
    RemoteVerdict,
    SlotSync,
    SyncEvent,
    SyncReport,
)
from tfbridge.sync.transport import Transport, TransportError

if TYPE_CHECKING:
    from tfbridge.verify.result import ModelReport

# Verifies a batch of (model, contract) pairs, one report each, in order.
Gate = Callable[[Sequence[tuple[Path, Contract]]], Sequence["ModelReport"]]
# Leave this much room beyond the model itself: a far side filled to the last byte helps no one.
SPACE_MARGIN = 1024 * 1024


def verify_gate(models: Sequence[tuple[Path, Contract]]) -> Sequence[ModelReport]:
    """Verify every model leaving in one call: one exam worker, each against its contract."""
    from tfbridge.verify import verify_models

    pairs = [(model, None if contract.is_empty else contract) for model, contract in models]
    return verify_models(pairs).models


@contextmanager
def connected(target: Target, transport: Transport | None = None) -> Iterator[Transport]:
    """The given transport (the caller closes it), or a new one closed on exit."""
    if transport is not None:
        yield transport
        return
    opened = open_transport(target)
    try:
        yield opened
    finally:
        opened.close()


def open_transport(target: Target) -> Transport:
    if target.is_local:
        from tfbridge.sync.local import LocalTransport

        return LocalTransport(target.path)
    from tfbridge.sync.ssh import SshTransport

    return SshTransport(target)


@dataclass(frozen=True)
class Prepared:
    slot: Slot
    sha256: str
    size: int
    verdict: str = "skip"  # not verified: the slot already holds this very model
    problems: tuple[str, ...] = ()
    matches: tuple[str, ...] = ()  # far-side models with the same content
    in_place: bool = False  # the slot holds exactly this model, under its name


def sync(
    config: ProjectConfig,
    names: Sequence[str] = (),
    *,
    dry_run: bool = False,
    force: bool = False,
    remote_verify: bool = False,
    progress: ProgressCallback | None = None,
    gate: Gate = verify_gate,
    transport: Transport | None = None,
) -> SyncReport:
    """Gate and send the named slots (all when none are named) over one connection."""
    target = config.require_target()
    if remote_verify and not target.python:
        raise TfbridgeError(
            f"{config.source}: --remote-verify needs `target.python`",
            hint="set it to the grading machine's exam interpreter",
        )
    notify = progress or (lambda event: None)
    prepared = [_prepare(slot) for slot in config.select(list(names))]
    report = SyncReport(target=target.describe(), dry_run=dry_run)
    state_dir = project_state_dir(config.root)
    with connected(target, transport) as far:
        surveyed = [_survey(far, item) for item in prepared]
        for item in _gate(surveyed, gate, notify):
            result = _sync_slot(
                far,
                item,
                report,
                dry_run=dry_run,
                force=force,
                python=target.python if remote_verify else None,
                notify=notify,
            )
            report.slots.append(result)
            if result.action in {"sent", "renamed"}:
                ledger.append(state_dir, _ledger_entry("sync", result, report.target))
    return report


def _prepare(slot: Slot) -> Prepared:
    if not slot.model.is_file():
        raise TfbridgeError(
            f"slot {slot.name}: model file {slot.model} does not exist",
            hint=f"save the model there, or fix slots.{slot.name}.model in the config",
        )
    return Prepared(slot, file_sha256(slot.model), slot.model.stat().st_size)


def _survey(transport: Transport, item: Prepared) -> Prepared:
    """Which far-side models of the slot already hold this content."""
    directory = slots.slot_directory(transport, item.slot, create=False)
    state = slots.read_slot(transport, directory)
    matches = tuple(_models_with_sha(transport, state, item))
    in_place = state.models == [item.slot.file_name] and bool(matches)
    return replace(item, matches=matches, in_place=in_place)


def _gate(items: list[Prepared], gate: Gate, notify: ProgressCallback) -> list[Prepared]:
    """Verify, in one batch, each model that will leave; one already in place is not."""
    leaving = [index for index, item in enumerate(items) if not item.in_place]
    for index in leaving:
        notify(SyncEvent(items[index].slot.name, "verify"))
    reports = (
        gate([(items[i].slot.model, items[i].slot.contract) for i in leaving]) if leaving else []
    )
    gated = list(items)
    for index, report in zip(leaving, reports, strict=True):
        problems = tuple(f"{c.id}: {c.message}" for c in report.checks if c.status == "fail")
        gated[index] = replace(items[index], verdict=report.verdict, problems=problems)
    return gated


def _sync_slot(
    transport: Transport,
    item: Prepared,
    report: SyncReport,
    *,
    dry_run: bool,
    force: bool,
    python: str | None,
    notify: ProgressCallback,
) -> SlotSync:
    slot = item.slot
    directory = slots.slot_directory(transport, slot, create=not dry_run)
    remote_path = posixpath.join(
        directory or posixpath.join(transport.root, slot.remote_dir), slot.file_name
    )
    result = SlotSync(
        slot.name,
        "refused",
        slot.model,
        remote_path,
        item.sha256,
        item.verdict,
        list(item.problems),
    )
    if item.verdict == "fail" and not force:
        return result
    state = slots.read_slot(transport, directory)
    if directory and state.temps and not dry_run:
        report.cleaned_temps += slots.clean_temps(transport, directory)
    same = list(item.matches)
    if item.in_place:
        result.action = "unchanged"
        if python:
            result.remote = _remote_verify(transport, python, remote_path, item, notify)
        return result
    if len(state.models) == 1 and same:
        result.action = "would-send" if dry_run else "renamed"
        if not dry_run:
            slots.rename_in_place(transport, state, state.models[0], slot.file_name)
        return result
    if dry_run:
        result.action = "would-send"
        return result
    assert directory is not None
    _check_space(transport, directory, item.size)
    history = slots.history_directory(transport, slot, create=True)
    assert history is not None
    notify(SyncEvent(slot.name, "upload", 0, item.size))
    temp = slots.upload(
        transport,
        str(slot.model),
        directory,
        item.sha256,
        lambda done, total: notify(SyncEvent(slot.name, "upload", done, total)),
    )
    try:
        if python:
            result.remote = _remote_verify(transport, python, temp, item, notify)
            if result.remote.verdict == "fail" and not force:
                _remove_quietly(transport, temp)
                return result
        notify(SyncEvent(slot.name, "place"))
        result.replaced = slots.place(transport, state, temp, slot.file_name, history)
    except TfbridgeError:
        _remove_quietly(transport, temp)  # if the connection is gone, the next run cleans it
        raise
    result.action = "sent"
    return result


def _models_with_sha(transport: Transport, state: slots.SlotState, item: Prepared) -> list[str]:
    """The slot's models whose content is the local model's (size first: hashing costs reads)."""
    matches = []
    for name in state.models:
        info = transport.stat(state.path(name))
        if (
            info
            and info.is_file
            and info.size == item.size
            and (transport.sha256(state.path(name)) == item.sha256)
        ):
            matches.append(name)
    return matches


def _check_space(transport: Transport, directory: str, size: int) -> None:
    free = transport.free_bytes(directory)
    if free is not None and free < size + SPACE_MARGIN:
        raise TransportError(
            f"not enough space in {transport.describe(directory)}: the model needs "
            f"{_mb(size)}, {_mb(free)} free",
            hint="free some space on the grading machine; the slot keeps its previous model",
        )


def _remote_verify(
    transport: Transport, python: str, path: str, item: Prepared, notify: ProgressCallback
) -> RemoteVerdict:
    from tfbridge.sync.remote_verify import remote_verify

    notify(SyncEvent(item.slot.name, "remote-verify"))
    return remote_verify(transport, python, path, reference=item.slot.model)


def _remove_quietly(transport: Transport, path: str) -> None:
    with suppress(TfbridgeError):
        transport.remove(path)


def _ledger_entry(action: str, result: SlotSync, target: str) -> ledger.LedgerEntry:
    return ledger.LedgerEntry(
        time=ledger.now(),
        action=action,
        slot=result.slot,
        local_path=str(result.local_path),
        remote_path=result.remote_path,
        sha256=result.sha256,
        verdict=result.verdict,
        target=target,
    )


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"
