"""`tfbridge sync`: gate each model with verify, then put it in its slot atomically, once."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from tfbridge.config import ProjectConfig, Slot, Target
from tfbridge.contract import Contract
from tfbridge.errors import TfbridgeError
from tfbridge.files import regular_file_problem
from tfbridge.hashing import file_sha256
from tfbridge.paths import project_state_dir
from tfbridge.phases import Phase, PhaseCallback, Stage
from tfbridge.sync import ledger
from tfbridge.sync import slot as slots
from tfbridge.sync.lock import DEFAULT_WAIT, TargetLock, target_lock
from tfbridge.sync.model_file import model_file_problem
from tfbridge.sync.result import RemoteVerdict, SlotSync, SyncReport
from tfbridge.sync.stamps import (
    RemoteStamp,
    local_stamp,
    now_ns,
    placed_mtime,
    remote_stamp,
    settled_stamp,
)
from tfbridge.sync.transport import FileStat, Transport, TransportError

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
    sha256: str  # "" until needed: a model that is only sent is hashed while it is sent
    stat: os.stat_result  # the model's, before anything read it
    since_ns: int  # when: what the model holds was read after this
    contract: str  # ledger.contract_digest of the slot's contract
    verdict: str = "skip"  # not verified: the slot holds this model, verified against this contract
    problems: tuple[str, ...] = ()
    sendable: bool = True  # False: not a Keras HDF5 model at all; --force does not send it
    matches: tuple[str, ...] = ()  # far-side models with the same content
    in_place: bool = False  # the slot holds exactly this model, under its name
    verified: bool = False  # the ledger says it passed against this very contract
    far_stamp: RemoteStamp | None = None  # the slot's copy was known by this stamp


def sync(
    config: ProjectConfig,
    names: Sequence[str] = (),
    *,
    dry_run: bool = False,
    force: bool = False,
    remote_verify: bool = False,
    wait: float = DEFAULT_WAIT,
    progress: PhaseCallback | None = None,
    gate: Gate = verify_gate,
    transport: Transport | None = None,
) -> SyncReport:
    """Gate and send the named slots (all when none are named) over one connection, holding the
    target's lock (a dry run takes none: it changes nothing)."""
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
        slots.check_distinct(far, config.slots.values())
        with exclusive(far, wait=wait, notify=notify, dry_run=dry_run) as lock:
            if not dry_run:
                report.cleaned_temps = sum(_clean(far, item.slot) for item in prepared)
            # read under the lock: a run we waited for may just have recorded these models
            passed = ledger.latest_by_slot(ledger.read(state_dir), report.target)
            surveyed = _survey(far, prepared, passed, notify)
            gated = _gate(surveyed, gate, notify)
            for n, item in enumerate(gated, start=1):
                lock.refresh()
                result, far_stamp = _sync_slot(
                    far,
                    item,
                    _Counted(notify, item.slot.name, n, len(gated)),
                    dry_run=dry_run,
                    force=force,
                    python=target.python if remote_verify else None,
                )
                report.slots.append(result)
                if _worth_recording(result) and not dry_run:
                    entry = _ledger_entry(result, report.target, item, far_stamp)
                    ledger.append(state_dir, entry)
    return report


@contextmanager
def exclusive(
    transport: Transport, *, wait: float, notify: PhaseCallback, dry_run: bool = False
) -> Iterator[TargetLock]:
    """The target's lock for the block (see lock.py); for a dry run, a lock that locks nothing."""
    if dry_run:
        yield _NoLock()
        return
    with target_lock(
        transport, wait=wait, on_wait=lambda text: notify(Phase("", "wait", detail=text))
    ) as lock:
        yield lock


class _NoLock:
    path = ""
    way_out = ""

    def try_acquire(self) -> str | None:
        return None

    def refresh(self) -> None:
        pass

    def release(self) -> None:
        pass


def _prepare(slot: Slot) -> Prepared:
    """Refuse a model path that is not a readable file (exit 2)."""
    problem = regular_file_problem(slot.model)
    if problem is not None:
        raise TfbridgeError(
            f"slot {slot.name}: model file {slot.model}: {problem}",
            hint=f"save the model there, or fix slots.{slot.name}.model in the config",
        )
    started = now_ns()
    return Prepared(slot, "", slot.model.stat(), started, ledger.contract_digest(slot.contract))


def _sendable(item: Prepared) -> Prepared:
    """Mark a model that is not a Keras HDF5 model unsendable, whatever --force says."""
    not_a_model = model_file_problem(item.slot.model)
    if not_a_model is None:
        return item
    return replace(item, verdict="fail", problems=(not_a_model,), sendable=False)


def _clean(transport: Transport, slot: Slot) -> int:
    """Remove the uploads an interrupted or killed run left (we hold the lock: none is live)."""
    directory = slots.slot_directory(transport, slot, create=False)
    return slots.clean_temps(transport, directory) if directory else 0


def _survey(
    transport: Transport,
    items: list[Prepared],
    passed: dict[str, ledger.LedgerEntry],
    notify: PhaseCallback,
) -> list[Prepared]:
    """Which far-side models of each slot already hold its content (hashed in one round trip for
    all slots, and only those of the right size), and whether it was verified against this
    contract. A model, or its far-side copy, whose stat is the one the ledger recorded with its
    SHA-256 is not read again (stamps.py)."""
    states = [
        slots.read_slot(transport, slots.slot_directory(transport, item.slot, create=False))
        for item in items
    ]
    sized = [_same_size(transport, state, item) for state, item in zip(states, items, strict=True)]
    items = [_with_known_sha(item, passed.get(item.slot.name)) for item in items]
    known = [
        _far_copy_known(item, state, stats, passed.get(item.slot.name))
        for item, state, stats in zip(items, states, sized, strict=True)
    ]
    candidates = [[] if copy else list(stats) for copy, stats in zip(known, sized, strict=True)]
    hashed = [item.slot.name for item, paths in zip(items, candidates, strict=True) if paths]
    for n, name in enumerate(hashed, start=1):
        notify(Phase(name, "hash", n=n, of=len(hashed)))
    # the local models are hashed here while the far side hashes its own, and only those that
    # something there may equal (a model that is sent is hashed as it is sent)
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        local = [
            pool.submit(file_sha256, item.slot.model) if paths and not item.sha256 else None
            for item, paths in zip(items, candidates, strict=True)
        ]
        far_shas = transport.sha256_many([path for paths in candidates for path in paths])
        surveyed = []
        for item, state, paths, digest, copy in zip(
            items, states, candidates, local, known, strict=True
        ):
            if digest is not None:
                item = replace(item, sha256=digest.result())
            matches = copy or tuple(
                posixpath.basename(p) for p in paths if far_shas[p] == item.sha256
            )
            last = passed.get(item.slot.name)
            if copy and last is not None:
                item = replace(item, far_stamp=last.remote_stamp)
            surveyed.append(_surveyed(item, state, matches, last))
    finally:
        pool.shutdown(cancel_futures=True)
    return surveyed


def _with_known_sha(item: Prepared, last: ledger.LedgerEntry | None) -> Prepared:
    """The model's SHA-256 from the ledger when its stat is the one recorded with it."""
    if (
        last is not None
        and last.local_stamp == local_stamp(item.stat)
        and last.local_path == str(item.slot.model)
    ):
        return replace(item, sha256=last.sha256)
    return item


def _far_copy_known(
    item: Prepared,
    state: slots.SlotState,
    stats: dict[str, FileStat],
    last: ledger.LedgerEntry | None,
) -> tuple[str, ...]:
    """The slot's model, when it is alone there, is the copy the ledger recorded of this very
    model, and its stat is the one recorded; else nothing (it is hashed)."""
    path = state.path(item.slot.file_name)
    if last is None or last.remote_stamp is None or last.remote_path != path:
        return ()
    same_model = bool(item.sha256) and last.sha256 == item.sha256
    alone = state.models == [item.slot.file_name]
    unchanged = path in stats and remote_stamp(stats[path]) == last.remote_stamp
    return (item.slot.file_name,) if same_model and alone and unchanged else ()


def _surveyed(
    item: Prepared,
    state: slots.SlotState,
    matches: tuple[str, ...],
    last: ledger.LedgerEntry | None,
) -> Prepared:
    in_place = state.models == [item.slot.file_name] and bool(matches)
    verified = (
        last is not None
        and last.sha256 == item.sha256
        and last.contract == item.contract
        and last.verdict != "fail"
    )
    item = replace(item, matches=matches, in_place=in_place, verified=verified)
    # in place and passed against this contract: a Keras model, no need to open it (nor h5py)
    return item if in_place and verified else _sendable(item)


def _gate(items: list[Prepared], gate: Gate, notify: PhaseCallback) -> list[Prepared]:
    """Verify, in one batch, each model that will leave or whose contract changed; one in place
    and verified against this contract is not verified again."""
    leaving = [
        index
        for index, item in enumerate(items)
        if item.sendable and not (item.in_place and item.verified)
    ]
    for n, index in enumerate(leaving, start=1):
        notify(Phase(items[index].slot.name, "verify", n=n, of=len(leaving)))
    reports = (
        gate([(items[i].slot.model, items[i].slot.contract) for i in leaving]) if leaving else []
    )
    gated = list(items)
    for index, report in zip(leaving, reports, strict=True):
        problems = tuple(f"{c.id}: {c.message}" for c in report.checks if c.status == "fail")
        gated[index] = replace(items[index], verdict=report.verdict, problems=problems)
    return gated


@dataclass(frozen=True)
class _Counted:
    """Progress of one slot's send, counted among the slots of the run."""

    notify: PhaseCallback
    slot: str
    n: int
    of: int

    def __call__(self, stage: Stage, done: int = 0, total: int = 0) -> None:
        self.notify(Phase(self.slot, stage, done, total, n=self.n, of=self.of))


def _sync_slot(
    transport: Transport,
    item: Prepared,
    notify: _Counted,
    *,
    dry_run: bool,
    force: bool,
    python: str | None,
) -> tuple[SlotSync, RemoteStamp | None]:
    """The slot's outcome, and the stamp of its far-side copy when it is known (stamps.py)."""
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
    if not item.sendable or (item.verdict == "fail" and not force):
        result.sha256 = _local_sha(item)
        return result, None
    state = slots.read_slot(transport, directory)
    same = list(item.matches)
    if item.in_place:
        result.action = "unchanged"
        if python:
            result.remote = _remote_verify(transport, python, remote_path, item, notify)
        return result, item.far_stamp
    if len(state.models) == 1 and same:
        result.action = "would-send" if dry_run else "renamed"
        if not dry_run:
            slots.rename_in_place(transport, state, state.models[0], slot.file_name)
        return result, None
    if dry_run:
        result.action = "would-send"
        result.sha256 = _local_sha(item)
        return result, None
    assert directory is not None
    _check_space(transport, directory, item.stat.st_size)
    history = slots.history_directory(transport, slot, create=True)
    assert history is not None
    notify("upload", 0, item.stat.st_size)
    temp, result.sha256, replaced = slots.upload(
        transport,
        str(slot.model),
        directory,
        item.sha256 or None,
        lambda done, total: notify("upload", done, total),
        also=[state.path(name) for name in state.models],  # history names them by digest
    )
    with slots.removed_on_failure(transport, temp):
        if python:
            result.remote = _remote_verify(transport, python, temp, item, notify)
            if result.remote.verdict == "fail" and not force:
                slots.remove_quietly(transport, temp)
                return result, None
        far_stamp = _stamp_upload(transport, temp, item)
        notify("place")
        result.replaced = slots.place(transport, state, temp, slot.file_name, history, replaced)
    result.action = "sent"
    return result, far_stamp


def _stamp_upload(transport: Transport, temp: str, item: Prepared) -> RemoteStamp | None:
    """Give the checked upload the mtime stamps.py describes; the stamp it then has (None when
    the far side keeps no such time)."""
    uploaded = transport.stat(temp)
    if uploaded is None or uploaded.mtime is None:
        return None
    wanted = RemoteStamp(
        size=uploaded.size, mtime=placed_mtime(item.stat.st_mtime_ns, uploaded.mtime)
    )
    transport.set_mtime(temp, wanted.mtime)
    return wanted if remote_stamp(transport.stat(temp)) == wanted else None


def _same_size(transport: Transport, state: slots.SlotState, item: Prepared) -> dict[str, FileStat]:
    """The slot's model files as large as the local model (only these can hold its content),
    with their stat."""
    found = {}
    for name in state.models:
        info = transport.stat(state.path(name))
        if info is not None and _is_file_of_size(info, item.stat.st_size):
            found[state.path(name)] = info
    return found


def _is_file_of_size(info: FileStat | None, size: int) -> bool:
    return info is not None and info.is_file and info.size == size


def _local_sha(item: Prepared) -> str:
    """The model's SHA-256: read now if nothing needed it before (one that is sent is hashed
    while it is sent, so it is read once)."""
    return item.sha256 or file_sha256(item.slot.model)


def _check_space(transport: Transport, directory: str, size: int) -> None:
    free = transport.free_bytes(directory)
    if free is not None and free < size + SPACE_MARGIN:
        raise TransportError(
            f"not enough space in {transport.describe(directory)}: the model needs "
            f"{_mb(size)}, {_mb(free)} free",
            hint="free some space on the grading machine; the slot keeps its previous model",
        )


def _remote_verify(
    transport: Transport, python: str, path: str, item: Prepared, notify: _Counted
) -> RemoteVerdict:
    from tfbridge.sync.remote_verify import remote_verify

    notify("remote-verify")
    return remote_verify(transport, python, path, reference=item.slot.model)


def _worth_recording(result: SlotSync) -> bool:
    """Sent, renamed, or verified again where it stands (its contract changed)."""
    return result.action in {"sent", "renamed"} or (
        result.action == "unchanged" and result.verdict != "skip"
    )


def _ledger_entry(
    result: SlotSync, target: str, item: Prepared, far_stamp: RemoteStamp | None
) -> ledger.LedgerEntry:
    return ledger.LedgerEntry(
        time=ledger.now(),
        action="sync" if result.action != "unchanged" else "verify",
        slot=result.slot,
        local_path=str(result.local_path),
        remote_path=result.remote_path,
        sha256=result.sha256,
        verdict=result.verdict,
        target=target,
        contract=item.contract,
        local_stamp=settled_stamp(item.stat, str(item.slot.model), item.since_ns),
        remote_stamp=far_stamp,
    )


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"
