"""One setup of an environment at a time.

`tfbridge setup` holds an exclusive lock on `.NAME.setup-lock` beside the environment for the whole
build. A second setup of the same environment waits for it, then finds the environment ready. The
operating system releases the lock when its holder exits, however it exits (even killed with -9),
so a lock is never left stale; the holder removes the file when it finishes. The file holds the
holder's pid, to name it to whoever waits.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from tfbridge.errors import TfbridgeError

_WINDOWS_POLL_SECONDS = 0.5


@contextmanager
def build_lock(env: Path, on_wait: Callable[[int | None], None]) -> Iterator[None]:
    """Hold the lock of `env`'s builds; if another process holds it, call `on_wait(its pid)` once
    and wait for it."""
    path = env.with_name(f".{env.name}.setup-lock")
    fd = _acquire(path, on_wait)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        # Unlinked before it is unlocked: whoever waits on this file then sees it is gone (below).
        with suppress(OSError):
            path.unlink()
        os.close(fd)


def _acquire(path: Path, on_wait: Callable[[int | None], None]) -> int:
    waited = False
    while True:
        fd = _open(path)
        try:
            if not _try_lock(fd):
                if not waited:
                    on_wait(_holder(fd))
                    waited = True
                _wait_for_lock(fd)
        except BaseException:  # Ctrl-C while waiting
            os.close(fd)
            raise
        if _still_at(path, fd):
            return fd
        os.close(fd)  # the holder removed this file when it finished: lock the one there now


def _open(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise TfbridgeError(
            f"cannot create {path}: {error.strerror or error}",
            "choose a --prefix (or TFBRIDGE_HOME) in a folder you can write to",
        ) from None


def _still_at(path: Path, fd: int) -> bool:
    try:
        on_disk = os.stat(path)
    except OSError:
        return False
    opened = os.fstat(fd)
    return (on_disk.st_dev, on_disk.st_ino) == (opened.st_dev, opened.st_ino)


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _wait_for_lock(fd: int) -> None:
    if sys.platform == "win32":
        while not _try_lock(fd):
            time.sleep(_WINDOWS_POLL_SECONDS)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_EX)


def _holder(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except (OSError, AttributeError):  # no pread on Windows
        return None
    return int(text) if text.isdigit() else None
