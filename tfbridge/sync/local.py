"""A local directory target (a mounted share, a USB disk): the same slot logic as over SSH."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from tfbridge.errors import TfbridgeError
from tfbridge.files import regular_file_problem
from tfbridge.hashing import file_sha256
from tfbridge.sync.transport import (
    NOT_A_FILE_HINT,
    BytesProgress,
    FileStat,
    TransportError,
)

if TYPE_CHECKING:
    from tfbridge.inenv.conversation import Conversation

CHUNK = 1024 * 1024


class LocalTransport:
    def __init__(self, directory: str) -> None:
        root = Path(directory).expanduser()
        if not root.is_dir():
            raise TransportError(
                f"target directory {root} does not exist",
                hint="create it, mount the share, or fix [target] dest in the config",
            )
        self.root = str(root.resolve())

    def describe(self, path: str) -> str:
        return path

    def stat(self, path: str) -> FileStat | None:
        with _errors("inspect", path):
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                return None
        return FileStat(
            size=info.st_size,
            is_dir=stat.S_ISDIR(info.st_mode),
            is_file=stat.S_ISREG(info.st_mode),
            is_link=stat.S_ISLNK(info.st_mode),
            mtime=info.st_mtime,
        )

    def listdir(self, directory: str) -> list[str]:
        with _errors("list", directory):
            return sorted(os.listdir(directory))

    def mkdir(self, directory: str) -> None:
        with _errors("create", directory):
            try:
                os.mkdir(directory)
            except FileExistsError:
                if not os.path.isdir(directory):
                    raise

    def realpath(self, path: str) -> str:
        return os.path.realpath(path)

    def put(self, local: str, remote: str, progress: BytesProgress | None = None) -> str:
        total = os.path.getsize(local)
        done = 0
        digest = hashlib.sha256()
        with _errors("write", remote), open(local, "rb") as source, open(remote, "wb") as sink:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                sink.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
            sink.flush()
            os.fsync(sink.fileno())
        return digest.hexdigest()

    def sha256(self, path: str) -> str:
        problem = regular_file_problem(Path(path))
        if problem is not None:  # a FIFO named like a model must not hang the checksum
            raise TfbridgeError(f"{path}: {problem}", hint=NOT_A_FILE_HINT)
        with _errors("read", path):
            return file_sha256(path)

    def sha256_many(self, paths: list[str]) -> dict[str, str | None]:
        return {
            path: None if regular_file_problem(Path(path)) else self.sha256(path) for path in paths
        }

    def rename(self, source: str, destination: str) -> None:
        with _errors("rename", source):
            os.replace(source, destination)

    def set_mtime(self, path: str, seconds: int) -> None:
        with _errors("set the time of", path):
            os.utime(path, (seconds, seconds), follow_symlinks=False)

    def link(self, source: str, destination: str) -> None:
        with _errors("copy", source):
            try:
                os.link(source, destination)
            except OSError:
                shutil.copyfile(source, destination)

    def remove(self, path: str) -> None:
        with _errors("remove", path):
            os.remove(path)

    def free_bytes(self, directory: str) -> int | None:
        return shutil.disk_usage(directory).free

    def converse(self, argv: list[str]) -> Conversation:
        from tfbridge.inenv.conversation import spawn  # only --remote-verify needs the worker

        argv = [os.path.expanduser(argv[0]), *argv[1:]]
        try:
            return spawn(argv)
        except OSError as error:
            raise TransportError(f"cannot run {argv[0]}: {error.strerror or error}") from None

    def close(self) -> None:
        pass


@contextmanager
def _errors(action: str, path: str) -> Iterator[None]:
    try:
        yield
    except PermissionError:
        raise TransportError(
            f"permission denied: cannot {action} {path}", hint="fix the directory's permissions"
        ) from None
    except OSError as error:
        if error.errno == errno.ENOSPC:
            raise TransportError(
                f"no space left to {action} {path}", hint="free some space on that disk"
            ) from None
        raise TransportError(f"cannot {action} {path}: {error.strerror or error}") from None
