"""Reading and writing user files safely: the one place that decides what may be opened and how a
file is replaced.

Readers call `require_regular_file` before opening anything, so a FIFO never hangs a command and a
device is never read. Writers go through `atomic_output`: the new content is written to a temporary
file beside the target and renamed over it only when complete, and only when the target is absent
or a regular file (never a device, FIFO, socket or directory). Temporary files carry the writer's
process id, so a later run removes those whose writer is dead (killed with -9) and no others.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from tfbridge.errors import EXIT_ENVIRONMENT, EXIT_USAGE, TfbridgeError

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.tmp$")


def kind_of(mode: int) -> str:
    """'a regular file', 'a FIFO (named pipe)', ... for an st_mode."""
    for test, label in _KINDS:
        if test(mode):
            return label
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


def regular_file_problem(path: Path) -> str | None:
    """Why `path` cannot be read as a file (missing, a FIFO, a symlink loop, ...), or None."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "no such file" if not os.path.lexists(path) else "a broken symbolic link"
    except OSError as error:
        return _os_reason(error)
    if not stat.S_ISREG(mode):
        return f"{kind_of(mode)}, not a regular file"
    if not os.access(path, os.R_OK):
        return "not readable (permission denied)"
    return None


def require_regular_file(path: Path, hint: str = "") -> None:
    """Raise a one-line TfbridgeError (exit 2) unless `path` is a readable regular file."""
    problem = regular_file_problem(path)
    if problem is not None:
        raise TfbridgeError(f"{path}: {problem}", hint or "give the path of a regular file")


def check_writable_target(path: Path) -> Path:
    """The file to replace for `path` (symlinks followed); refuses anything but a regular file."""
    target = Path(os.path.realpath(path))
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as error:
        raise TfbridgeError(f"cannot write {path}: {_os_reason(error)}") from None
    if mode is not None and not stat.S_ISREG(mode):
        raise TfbridgeError(
            f"refusing to write {path}: it is {kind_of(mode)}, not a regular file",
            "pass the path of a new or regular file",
        )
    if not target.parent.is_dir():
        raise TfbridgeError(
            f"cannot write {path}: the folder {target.parent} does not exist",
            "create the folder first or choose another path",
        )
    return target


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it over `path`, else remove it."""
    target = check_writable_target(path)
    remove_stale_temps(target.parent, target.name)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        _probe_create(temporary, path)
        yield temporary
        _fsync(temporary)
        check_writable_target(target)  # the target may have been swapped meanwhile
        os.replace(temporary, target)
    except OSError as error:
        raise _write_error(path, error) from None
    finally:
        with suppress(OSError):
            temporary.unlink()


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    with atomic_output(path) as temporary:
        temporary.write_bytes(data)


def remove_stale_temps(directory: Path, name: str | None = None) -> int:
    """Remove `.NAME.PID.tmp` files in `directory` whose writing process is gone; count them."""
    removed = 0
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return 0
    for entry in entries:
        match = _TEMP.match(entry.name)
        if match is None or (name is not None and match["name"] != name):
            continue
        if process_alive(int(match["pid"])) or not entry.is_file(follow_symlinks=False):
            continue
        with suppress(OSError):
            os.unlink(entry.path)
            removed += 1
    return removed


def process_alive(pid: int) -> bool:
    """Whether process `pid` still runs (this process counts as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _probe_create(temporary: Path, shown: Path) -> None:
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except OSError as error:
        raise _write_error(shown, error) from None
    os.close(fd)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_error(path: Path, error: OSError) -> TfbridgeError:
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return TfbridgeError(
            f"cannot write {path}: the disk is full",
            "free some space and try again",
            exit_code=EXIT_ENVIRONMENT,
        )
    return TfbridgeError(
        f"cannot write {path}: {_os_reason(error)}",
        "choose an output path in a folder you can write to",
        exit_code=EXIT_USAGE,
    )


def _os_reason(error: OSError) -> str:
    reasons = {
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ELOOP: "a symbolic link loop",
        errno.EISDIR: "it is a directory",
        errno.ENOTDIR: "a part of the path is not a directory",
        errno.EROFS: "the file system is read-only",
        errno.ENAMETOOLONG: "the name is too long",
    }
    return reasons.get(error.errno or 0, error.strerror or type(error).__name__)
