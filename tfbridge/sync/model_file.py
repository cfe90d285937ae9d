"""Whether a slot's local model is a Keras HDF5 model at all: what `--force` can never override.

`--force` sends a model that fails verification (a contract, a Keras version); it never sends an
empty file, a file that is not HDF5, a damaged one, a weights-only file or a `.keras` zip, because
the grader can load none of them. Only HDF5 attributes are read here, never weight data.
"""

from __future__ import annotations

from pathlib import Path

SENDABLE_KIND = "model_h5"


def model_file_problem(path: Path) -> str | None:
    """Why `path` is not a Keras HDF5 model file (e.g. "the file is empty (0 bytes)"), or None."""
    from tfbridge.verify.h5file import read_saved_file

    saved = read_saved_file(path)
    if saved.kind == SENDABLE_KIND:
        return None
    return f"model.file: not a Keras .h5 model, so never sent (even with --force): {saved.detail}"
