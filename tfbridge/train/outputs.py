"""Which `.h5` files a training run wrote or changed: snapshot a directory before, compare after."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tfbridge.hashing import file_sha256

MODEL_SUFFIX = ".h5"
_SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages"})


@dataclass(frozen=True)
class FileState:
    mtime_ns: int
    size: int
    sha256: str


Snapshot = dict[Path, FileState]


def snapshot_models(directory: Path) -> Snapshot:
    """Every `.h5` below `directory` (skipping hidden folders and virtual environments)."""
    return {path: _state(path) for path in _model_files(directory.resolve())}


def written_models(before: Snapshot, directory: Path) -> list[Path]:
    """The `.h5` files that are new since `before`, or whose time, size or content changed."""
    after = snapshot_models(directory)
    return sorted(path for path, state in after.items() if before.get(path) != state)


def _model_files(directory: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not _skipped(Path(root) / d))
        for name in sorted(files):
            if name.endswith(MODEL_SUFFIX):
                yield Path(root) / name


def _skipped(directory: Path) -> bool:
    name = directory.name
    return name.startswith(".") or name in _SKIPPED_DIRS or (directory / "pyvenv.cfg").exists()


def _state(path: Path) -> FileState:
    stat = path.stat()
    return FileState(stat.st_mtime_ns, stat.st_size, file_sha256(path))
