"""The small file interface slot updates need, implemented for a local directory and for SSH."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from tfbridge.errors import EXIT_ENVIRONMENT, TfbridgeError

if TYPE_CHECKING:
    from tfbridge.inenv.conversation import Conversation

NOT_A_FILE_HINT = "a slot holds only model files: remove that entry on the grading machine"

BytesProgress = Callable[[int, int], None]
"""Called with (bytes sent so far, total bytes) while a file is uploaded."""


class TransportError(TfbridgeError):
    """The far side failed us (unreachable, refused, full, cut off): the slot keeps its model.
    Exit 3, like every failure of the environment rather than of the user's input."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message, hint=hint, exit_code=EXIT_ENVIRONMENT)


@dataclass(frozen=True)
class FileStat:
    size: int
    is_dir: bool
    is_file: bool
    is_link: bool
    mtime: float | None = None


@dataclass(frozen=True)
class RunResult:
    exit_status: int
    stdout: bytes
    stderr: bytes


class Transport(Protocol):
    """Paths are absolute POSIX-style strings on the far side; `root` is the target directory with
    symlinks resolved. Every method raises TransportError for the user, never a library error."""

    root: str

    def describe(self, path: str) -> str:
        """`path` as the user should read it in messages (host included for SSH)."""
        ...

    def stat(self, path: str) -> FileStat | None:
        """lstat: None when nothing is there."""
        ...

    def listdir(self, directory: str) -> list[str]: ...

    def mkdir(self, directory: str) -> None:
        """Create one directory level; an existing directory is fine."""
        ...

    def realpath(self, path: str) -> str: ...

    def put(self, local: str, remote: str, progress: BytesProgress | None = None) -> str:
        """Copy `local` to `remote`; returns the SHA-256 of the bytes sent, hashed as they
        were read."""
        ...

    def sha256(self, path: str) -> str: ...

    def sha256_many(self, paths: list[str]) -> dict[str, str | None]:
        """Each file's SHA-256 at once (one round trip); None for one that is not a regular
        file."""
        ...

    def rename(self, source: str, destination: str) -> None:
        """Atomic rename that replaces `destination` if it exists."""
        ...

    def set_mtime(self, path: str, seconds: int) -> None:
        """Set a file's modification (and access) time, in whole seconds."""
        ...

    def link(self, source: str, destination: str) -> None:
        """Hard link when the file system allows it, else a copy."""
        ...

    def remove(self, path: str) -> None: ...

    def free_bytes(self, directory: str) -> int | None: ...

    def converse(self, argv: list[str]) -> Conversation:
        """Start a program on the far side (argv[0] may start with `~/`), kept open to talk
        with over its stdin/stdout."""
        ...

    def close(self) -> None: ...
