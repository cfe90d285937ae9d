"""Which `.h5` files a training run wrote or changed: snapshot a directory before, compare after.

Only regular files are read. A FIFO, socket, device, directory or broken link named `*.h5` is
never opened (a FIFO would block the scan forever): it is set aside with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tfbridge import records
from tfbridge.files import regular_file_problem
from tfbridge.hashing import file_sha256

MODEL_SUFFIX = ".h5"
_SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages"})


@dataclass(frozen=True)
class FileState:
    mtime_ns: int
    size: int
    sha256: str


class SkippedOutput(records.Record, frozen=True, kw_only=False):
    """A `*.h5` entry the run left that is not a readable regular file, and why (positional)."""

    path: str
    reason: str


@dataclass
class Snapshot:
    """The `.h5` files below a directory, and the `.h5` entries that cannot be read as files."""

    files: dict[Path, FileState] = field(default_factory=dict)
    refused: dict[Path, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WrittenOutputs:
    models: list[Path]
    skipped: list[SkippedOutput]


def snapshot_models(directory: Path) -> Snapshot:
    """Every `.h5` below `directory` (skipping hidden folders and virtual environments)."""
    snapshot = Snapshot()
    for path in _model_entries(directory.resolve()):
        state = _state(path)
        if isinstance(state, FileState):
            snapshot.files[path] = state
        else:
            snapshot.refused[path] = state
    return snapshot


def written_models(before: Snapshot, directory: Path) -> WrittenOutputs:
    """The `.h5` files that are new since `before`, or whose time, size or content changed; and
    the new `.h5` entries that are not regular files (refused, with the reason)."""
    after = snapshot_models(directory)
    models = sorted(path for path, state in after.files.items() if before.files.get(path) != state)
    skipped = [
        SkippedOutput(str(path), reason)
        for path, reason in sorted(after.refused.items())
        if before.refused.get(path) != reason
    ]
    return WrittenOutputs(models, skipped)


def _model_entries(directory: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not _skipped(Path(root) / d))
        for name in sorted(files):
            if name.endswith(MODEL_SUFFIX):
                yield Path(root) / name


def _skipped(directory: Path) -> bool:
    name = directory.name
    return name.startswith(".") or name in _SKIPPED_DIRS or (directory / "pyvenv.cfg").exists()


def _state(path: Path) -> FileState | str:
    """The file's state, or why it is not read (checked before anything opens it)."""
    problem = regular_file_problem(path)
    if problem is not None:
        return problem
    try:
        stat = path.stat()
        return FileState(stat.st_mtime_ns, stat.st_size, file_sha256(path))
    except OSError as error:  # removed or replaced between the check and the read
        return f"could not be read ({error.strerror or type(error).__name__})"
