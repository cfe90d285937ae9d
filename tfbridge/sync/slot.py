"""One slot directory on a Transport: safe paths, and updates that never leave it with zero or two
`.h5` files.

Replacing old.h5 with new.h5: (1) upload to `.tfbridge-upload-<id>.part` in the slot (not `.h5`,
so the grader ignores it) and check its SHA-256 there; (2) hard-link (or copy) old.h5 into the
history folder outside the slot; (3) rename the upload onto old.h5 (atomic replace: still one
model); (4) rename old.h5 to new.h5 (new.h5 did not exist: still one model). An upload stopped
by anything (Ctrl-C, SIGTERM, a lost connection) is removed; what a killed run leaves, the next run
removes under the target lock.

Slots are compared by the directory they really are: a slot directory may be a symlink, but only
to a directory inside the target, and never to another slot's directory, the target itself or the
history (each is refused with both names before anything is sent or moved). A symlink leading out
of the target is refused: tfbridge writes only below the directory the config names.
"""

from __future__ import annotations

import posixpath
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timezone

from tfbridge.config import HISTORY_DIRNAME, Slot
from tfbridge.errors import EXIT_FAILED, TfbridgeError
from tfbridge.sync.transport import BytesProgress, Transport, TransportError

TEMP_PREFIX = ".tfbridge-upload-"
TEMP_SUFFIX = ".part"
MODEL_SUFFIX = ".h5"
HISTORY_KEEP = 5


@dataclass(frozen=True)
class SlotState:
    directory: str
    models: list[str]
    temps: list[str]

    def path(self, name: str) -> str:
        return posixpath.join(self.directory, name)


@dataclass(frozen=True)
class HistoryEntry:
    path: str
    stamp: str
    sha8: str
    original_name: str


def slot_directory(transport: Transport, slot: Slot, *, create: bool) -> str | None:
    """The slot's absolute directory, refused if it escapes the target; None if absent and
    `create` is false."""
    return _safe_directory(transport, slot.remote_dir, create=create)


def real_directory(transport: Transport, slot: Slot) -> str:
    """The directory the slot really is, symlinks resolved, whether or not it exists yet."""
    current, missing = _walk(transport, slot.remote_dir, create=False)
    return posixpath.join(current, *missing)


def check_distinct(transport: Transport, every_slot: Iterable[Slot]) -> None:
    """Refuse slots that share one real directory (`Alias -> Category1`), or land in the target
    root or the history: sending one slot would replace another's model there."""
    history_root, missing = _walk(transport, HISTORY_DIRNAME, create=False)
    history_root = posixpath.join(history_root, *missing)
    owners: dict[str, Slot] = {}
    for slot in every_slot:
        real = real_directory(transport, slot)
        if real == transport.root or _inside(real, history_root):
            raise TfbridgeError(
                f"slot {slot.name}: remote_dir {slot.remote_dir!r} leads to "
                f"{transport.describe(real)}, not to a question directory of its own",
                hint=f"remove that symlink, or fix slots.{slot.name}.remote_dir",
            )
        # macOS and Windows file systems ignore case: Category1 and category1 are one directory
        other = owners.setdefault(real.casefold(), slot)
        if other is not slot:
            raise TfbridgeError(
                f"slots {other.name} and {slot.name} both land in {transport.describe(real)} "
                f"(remote_dir {other.remote_dir!r} and {slot.remote_dir!r}, symlinks resolved, "
                "case ignored); "
                "sending one would replace the other's model",
                hint=f"give each slot its own directory: remove the symlink or fix "
                f"slots.{slot.name}.remote_dir",
            )


def history_directory(transport: Transport, slot: Slot, *, create: bool) -> str | None:
    return _safe_directory(transport, f"{HISTORY_DIRNAME}/{slot.name}", create=create)


def read_slot(transport: Transport, directory: str | None) -> SlotState:
    if directory is None:
        return SlotState("", [], [])
    names = transport.listdir(directory)
    models = [name for name in names if name.endswith(MODEL_SUFFIX)]
    temps = [name for name in names if name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)]
    return SlotState(directory, models, temps)


def clean_temps(transport: Transport, directory: str) -> int:
    """Remove uploads a crashed or cut-off run left behind; returns how many."""
    state = read_slot(transport, directory)
    for name in state.temps:
        transport.remove(state.path(name))
    return len(state.temps)


def upload(
    transport: Transport,
    local: str,
    directory: str,
    sha256: str | None,
    progress: BytesProgress | None = None,
    also: Sequence[str] = (),
) -> tuple[str, str, dict[str, str | None]]:
    """Upload `local` under a temporary name in `directory` and prove there that it holds the
    bytes sent (and `sha256`, when the model was hashed before). The far-side files `also` are
    hashed in the same round trip. Returns the temp, its SHA-256 and those of `also`."""
    temp = _temp_path(directory)
    with removed_on_failure(transport, temp):
        sent = transport.put(local, temp, progress)
        if sha256 is not None and sent != sha256:
            raise TfbridgeError(
                f"{local} changed while it was being sent (SHA-256 {sent[:12]}..., verified as "
                f"{sha256[:12]}...)",
                hint="let whatever writes it finish, then run `tfbridge sync` again",
                exit_code=EXIT_FAILED,
            )
        digests = check_copy(transport, temp, sent, also)
    return temp, sent, digests


def copy_within(transport: Transport, source: str, directory: str, sha256: str) -> str:
    """Put a far-side file (a history entry) into `directory` under a temporary name."""
    temp = _temp_path(directory)
    with removed_on_failure(transport, temp):
        transport.link(source, temp)
        check_copy(transport, temp, sha256)
    return temp


@contextmanager
def removed_on_failure(transport: Transport, temp: str) -> Iterator[None]:
    """Remove `temp` if anything, Ctrl-C included, stops the block; the next run removes what
    this could not (a lost connection, kill -9)."""
    try:
        yield
    except BaseException:
        remove_quietly(transport, temp)
        raise


def remove_quietly(transport: Transport, path: str) -> None:
    with suppress(TfbridgeError):
        if transport.stat(path) is not None:
            transport.remove(path)


def _temp_path(directory: str) -> str:
    return posixpath.join(directory, f"{TEMP_PREFIX}{secrets.token_hex(6)}{TEMP_SUFFIX}")


def check_copy(
    transport: Transport, temp: str, sha256: str, also: Sequence[str] = ()
) -> dict[str, str | None]:
    """Prove `temp` holds `sha256`; returns the digests of `also`, hashed in the same command."""
    digests = transport.sha256_many([temp, *also])
    remote_sha = digests.pop(temp) or "(not a regular file)"
    if remote_sha != sha256:
        transport.remove(temp)
        raise TransportError(
            f"the copy at {transport.describe(temp)} has SHA-256 {remote_sha[:12]}..., "
            f"expected {sha256[:12]}...",
            hint="the slot keeps its previous model; run the command again",
        )
    return digests


def place(
    transport: Transport,
    state: SlotState,
    temp: str,
    new_name: str,
    history: str,
    known: Mapping[str, str | None] | None = None,
) -> list[str]:
    """Move the checked upload `temp` into the slot as `new_name`; every model it replaces goes
    to `history` first (`known`: their digests, where already hashed). Returns the history paths
    written."""
    if not state.models:
        transport.rename(temp, state.path(new_name))
        return []
    known = known or {}
    archived = [
        archive(transport, state.path(name), history, known.get(state.path(name)))
        for name in state.models
    ]
    keep = new_name if new_name in state.models else state.models[0]
    transport.rename(temp, state.path(keep))
    if keep != new_name:
        transport.rename(state.path(keep), state.path(new_name))
    for extra in state.models:
        if extra not in {keep, new_name}:
            transport.remove(state.path(extra))
    prune_history(transport, history)
    return archived


def rename_in_place(transport: Transport, state: SlotState, old_name: str, new_name: str) -> None:
    transport.rename(state.path(old_name), state.path(new_name))


def archive(transport: Transport, model: str, history: str, sha: str | None = None) -> str:
    sha = sha or transport.sha256(model)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    final = posixpath.join(history, f"{stamp}-{sha[:8]}-{posixpath.basename(model)}")
    temp = _temp_path(history)
    with removed_on_failure(transport, temp):
        transport.link(model, temp)
        transport.rename(temp, final)
    return final


def history_entries(transport: Transport, history: str | None) -> list[HistoryEntry]:
    """Newest first."""
    if history is None:
        return []
    entries = []
    for name in transport.listdir(history):
        parts = name.split("-", 2)
        if len(parts) == 3 and name.endswith(MODEL_SUFFIX) and not name.startswith("."):
            entries.append(HistoryEntry(posixpath.join(history, name), *parts))
    return sorted(entries, key=lambda entry: entry.stamp, reverse=True)


def prune_history(transport: Transport, history: str, keep: int = HISTORY_KEEP) -> None:
    for name in transport.listdir(history):
        if name.startswith(TEMP_PREFIX):
            transport.remove(posixpath.join(history, name))
    for entry in history_entries(transport, history)[keep:]:
        transport.remove(entry.path)


def _safe_directory(transport: Transport, relative: str, *, create: bool) -> str | None:
    current, missing = _walk(transport, relative, create=create)
    return None if missing else current


def _walk(transport: Transport, relative: str, *, create: bool) -> tuple[str, list[str]]:
    """Walk `relative` below the root one level at a time, refusing anything that leads out.
    Returns the real path reached and the parts that do not exist (none when `create`)."""
    if relative.startswith("/") or ".." in relative.split("/"):
        raise _escape(transport, relative, "it is absolute or contains '..'")
    parts = [p for p in relative.split("/") if p and p != "."]
    current = transport.root
    for index, part in enumerate(parts):
        step = posixpath.join(current, part)
        info = transport.stat(step)
        if info is None:
            if not create:
                return current, parts[index:]
            transport.mkdir(step)
        elif not (info.is_dir or info.is_link):
            raise TfbridgeError(f"{transport.describe(step)} is a file, not a slot directory")
        resolved = transport.realpath(step)
        if not _inside(resolved, transport.root):
            raise _escape(transport, relative, f"{step} leads to {resolved}")
        resolved_info = transport.stat(resolved)
        if resolved_info is None or not resolved_info.is_dir:
            raise TfbridgeError(f"{transport.describe(step)} is not a directory")
        current = resolved
    return current, []


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _escape(transport: Transport, relative: str, why: str) -> TfbridgeError:
    return TfbridgeError(
        f"refusing slot directory {relative!r}: it escapes the target "
        f"{transport.describe(transport.root)} ({why})",
        hint="slot directories must stay inside the target; fix remote_dir or the symlink",
    )
