"""Finding the model files a user means: the one discovery rule of verify, fingerprint and train.

A file stands for itself; a directory (other than a TensorFlow SavedModel) stands for the `.h5` and
`.hdf5` files below it. The walk never follows symbolic links to directories (so a link loop cannot
trap it) and never opens a file: what each path really is (a FIFO, a symlink loop, a device) is for
the reader to refuse, via `tfbridge.files.regular_file_problem`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

MODEL_SUFFIXES = (".h5", ".hdf5")
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


def is_saved_model_dir(path: Path) -> bool:
    return any(os.path.isfile(path / name) for name in SAVED_MODEL_FILES)


def discover_models(paths: Sequence[Path]) -> list[Path]:
    """Each path as given, except a directory, which gives the model files below it, sorted.

    A SavedModel directory, a directory holding no model file, and a subdirectory the walk could
    not read are kept as themselves, so the caller reports each rather than losing it silently.
    """
    found: list[Path] = []
    for path in map(Path, paths):
        if not os.path.isdir(path) or is_saved_model_dir(path):
            found.append(path)
            continue
        models, unreadable = _walk(path)
        found.extend(models or ([] if unreadable else [path]))
        found.extend(unreadable)
    return found


def _walk(directory: Path) -> tuple[list[Path], list[Path]]:
    """Model files below `directory`, and the subdirectories that could not be listed."""
    unreadable: list[Path] = []

    def note(error: OSError) -> None:
        unreadable.append(Path(error.filename or directory))

    models = [
        Path(folder) / name
        for folder, _, names in os.walk(directory, onerror=note, followlinks=False)
        for name in names
        if name.lower().endswith(MODEL_SUFFIXES)
    ]
    return sorted(models), sorted(unreadable)


def printable_path(path: str | Path) -> str:
    """A path (or text naming one) that is always valid UTF-8 to print: bytes a file name holds
    that are not UTF-8 are shown as \\xNN rather than written raw."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")
