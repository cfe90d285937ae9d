"""One `tfbridge sync` or `rollback` at a time per target: two runs never move each other's models.

Local directory: `flock` on `<target>/.tfbridge-lock`. The kernel releases it when the holder exits,
even killed with -9; the file also names the holder (host, pid, time) for the one who waits.

SSH: SFTP `mkdir <target>/.tfbridge-lock.d` is atomic on the far side; whoever makes it holds the
lock and puts `owner.json` (host, pid, time, token) inside. The lock is stale, and broken, when its
owner ran on this host and that process is gone, or when its owner has not refreshed it for
STALE_AFTER seconds (the holder refreshes it at every slot; a slot's longest step, a remote verify,
is bounded at 15 minutes). Times are the clients' own clocks: machines whose clocks differ by more
than a few minutes shorten or lengthen that bound. Breaking a lock renames it aside first and checks
it moved the stale owner, so two runs breaking one stale lock do not both win.

A second run waits up to `wait` seconds, saying so, then stops with exit 3 naming the holder.
The holder releases the lock in a `finally`, on Ctrl-C and SIGTERM too.
"""

from __future__ import annotations

import errno
import json
import os
import posixpath
import secrets
import socket
import stat
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from typing import Protocol, runtime_checkable

from tfbridge.errors import EnvironmentFailure, TfbridgeError
from tfbridge.sync.transport import Transport, TransportError

LOCK_FILENAME = ".tfbridge-lock"
LOCK_DIRNAME = ".tfbridge-lock.d"
OWNER_FILENAME = "owner.json"
STALE_AFTER = 30 * 60.0
DEFAULT_WAIT = 60.0
POLL_INTERVAL = 0.5
OWNER_LIMIT = 4096


class LockBusy(EnvironmentFailure):
    """Another run holds the target's lock and did not let go in time (exit 3)."""


@dataclass(frozen=True)
class Owner:
    host: str
    pid: int
    time: float
    token: str
    machine: str = ""  # the host's hardware address: two machines may share a host name

    @classmethod
    def me(cls) -> Owner:
        return cls(
            socket.gethostname(), os.getpid(), time.time(), secrets.token_hex(8), _this_machine()
        )

    @classmethod
    def parse(cls, data: bytes | None) -> Owner | None:
        try:
            fields = json.loads(data or b"")
            host, pid, when, token = fields["host"], fields["pid"], fields["time"], fields["token"]
            machine = str(fields.get("machine", ""))
            return cls(str(host), int(pid), float(when), str(token), machine)
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    def describe(self) -> str:
        since = datetime.fromtimestamp(self.time, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"process {self.pid} on {self.host} (holding it since {since})"

    def is_stale(self) -> bool:
        """Its process is gone, or it has not been refreshed for STALE_AFTER seconds. One
        naming this very process is stale too: a lock is never taken twice by one process, so
        it is left from an earlier run here whose release failed (the connection dropped)."""
        here = self.host == socket.gethostname() and self.machine == _this_machine()
        if here and (self.pid == os.getpid() or not _process_alive(self.pid)):
            return True
        return time.time() - self.time > STALE_AFTER


class TargetLock(Protocol):
    path: str
    way_out: str  # what to do about a holder that never lets go

    def try_acquire(self) -> str | None:
        """None when this run now holds the lock; else who holds it, for people to read."""
        ...

    def refresh(self) -> None: ...

    def release(self) -> None: ...


@contextmanager
def target_lock(
    transport: Transport, *, wait: float, on_wait: Callable[[str], None]
) -> Iterator[TargetLock]:
    """Hold the target's lock for the block, waiting up to `wait` seconds for another run."""
    lock = _lock_for(transport)
    try:  # released even when stopped halfway through taking it (releasing nothing is fine)
        _acquire(lock, transport.describe(transport.root), wait, on_wait)
        yield lock
    finally:
        lock.release()


def _acquire(lock: TargetLock, where: str, wait: float, on_wait: Callable[[str], None]) -> None:
    deadline = time.monotonic() + wait
    told = False
    while (holder := lock.try_acquire()) is not None:
        if time.monotonic() >= deadline:
            raise LockBusy(
                f"another tfbridge run is syncing to {where}: {holder}",
                hint=f"let it finish, or wait longer with --wait SECONDS; {lock.way_out}",
            )
        if not told:
            on_wait(f"waiting up to {wait:.0f} s for {holder}, which is syncing to {where}")
            told = True
        time.sleep(POLL_INTERVAL)


@runtime_checkable
class DirectoryTransport(Transport, Protocol):
    """What the SSH lock needs beyond the Transport: see SshTransport."""

    def make_directory(self, directory: str) -> bool: ...

    def remove_directory(self, directory: str) -> None: ...

    def write_small(self, path: str, data: bytes) -> None: ...

    def read_small(self, path: str, limit: int) -> bytes | None: ...


def _lock_for(transport: Transport) -> TargetLock:
    from tfbridge.sync.local import LocalTransport

    if isinstance(transport, LocalTransport):
        return FileLock(transport.root)
    if isinstance(transport, DirectoryTransport):
        return DirectoryLock(transport)
    raise TypeError(f"no target lock for {type(transport).__name__}")


class FileLock:
    """`flock` on a file in a local target directory."""

    def __init__(self, root: str) -> None:
        self.path = os.path.join(root, LOCK_FILENAME)
        # the kernel frees the lock when its holder exits; removing the file would not
        self.way_out = "if that process hangs, stop it"
        self._fd: int | None = None

    def try_acquire(self) -> str | None:
        fd = self._open()
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            holder = Owner.parse(_read_start(fd))
            os.close(fd)
            if error.errno not in (errno.EAGAIN, errno.EACCES):
                raise TransportError(
                    f"cannot lock {self.path}: {error.strerror}",
                    hint="the target's file system does not take locks; copy over SSH instead",
                ) from None
            return holder.describe() if holder else "another run"
        self._fd = fd
        os.ftruncate(fd, 0)
        os.pwrite(fd, Owner.me().to_bytes(), 0)
        return None

    def refresh(self) -> None:
        """The kernel holds this lock for as long as the process lives: nothing to renew."""

    def release(self) -> None:
        # The file stays: removing it would let a waiter lock an unlinked file.
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing releases the flock

    def _open(self) -> int:
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            fd = os.open(self.path, flags, 0o644)
        except OSError as error:
            raise TransportError(
                f"cannot open the lock file {self.path}: {error.strerror}",
                hint="tfbridge needs to write in the target directory; remove that entry if it "
                "is not a plain file",
            ) from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise TfbridgeError(
                f"{self.path} is not a plain file", hint="remove it; tfbridge makes its lock file"
            )
        return fd


class DirectoryLock:
    """An atomic `mkdir` on the far side, with the owner's identity inside."""

    def __init__(self, transport: DirectoryTransport) -> None:
        self.transport = transport
        self.path = posixpath.join(transport.root, LOCK_DIRNAME)
        self.owner_path = posixpath.join(self.path, OWNER_FILENAME)
        self.way_out = f"if that run is gone for good, remove {transport.describe(self.path)}"
        self._owner: Owner | None = None

    def try_acquire(self) -> str | None:
        if self._take():
            return None
        holder = self._read_owner(self.path)
        if self._is_stale(holder):
            self._break(holder)
            if self._take():
                return None
        return holder.describe() if holder else "a run that is just starting"

    def refresh(self) -> None:
        if self._owner is not None:
            self._owner = replace(self._owner, time=time.time())
            self._write_owner(self._owner)

    def release(self) -> None:
        if self._owner is None:
            return
        mine, self._owner = self._owner, None
        with suppress(TfbridgeError):  # a lost connection: this host's next run sees we are gone
            current = self._read_owner(self.path)
            if current is not None and current.token != mine.token:
                return  # not ours any more: broken as stale meanwhile, now someone else's
            self._remove(self.path)

    def _take(self) -> bool:
        if not self.transport.make_directory(self.path):
            return False
        self._owner = Owner.me()
        self._write_owner(self._owner)
        return True

    def _write_owner(self, owner: Owner) -> None:
        """Written aside and renamed into place: a reader never sees half an owner."""
        fresh = f"{self.owner_path}.{owner.token}.new"
        self.transport.write_small(fresh, owner.to_bytes())
        self.transport.rename(fresh, self.owner_path)

    def _read_owner(self, lock_dir: str) -> Owner | None:
        path = posixpath.join(lock_dir, OWNER_FILENAME)
        return Owner.parse(self.transport.read_small(path, OWNER_LIMIT))

    def _is_stale(self, holder: Owner | None) -> bool:
        if holder is not None:
            return holder.is_stale()
        info = self.transport.stat(self.path)  # no owner yet: its maker may have died just after
        return bool(info and info.mtime is not None and time.time() - info.mtime > STALE_AFTER)

    def _break(self, stale: Owner | None) -> None:
        aside = f"{self.path}.stale-{secrets.token_hex(4)}"
        try:
            self.transport.rename(self.path, aside)
        except TfbridgeError:
            return  # another run broke it first
        if self._read_owner(aside) != stale:  # a fresh lock was taken meanwhile: give it back
            with suppress(TfbridgeError):
                self.transport.rename(aside, self.path)
            return
        with suppress(TfbridgeError):
            self._remove(aside)

    def _remove(self, lock_dir: str) -> None:
        for name in self.transport.listdir(lock_dir):
            self.transport.remove(posixpath.join(lock_dir, name))
        self.transport.remove_directory(lock_dir)


def _read_start(fd: int) -> bytes:
    try:
        return os.pread(fd, OWNER_LIMIT, 0)
    except OSError:
        return b""


def _this_machine() -> str:
    return f"{uuid.getnode():012x}"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but is someone else's
        return True
    return True
