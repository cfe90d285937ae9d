"""Whether a slot's local model is a Keras HDF5 model at all: what `--force` can never override.

`--force` sends a model that fails verification (a contract, a Keras version); it never sends an
empty file, a file that is not HDF5, a damaged one, a weights-only file, a `.keras` zip, or an
HDF5 file whose model config describes no model TF 2.9 could build (not a Keras config, a broken
graph), because the grader can load none of them. Only HDF5 attributes are read here, never
weight data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SENDABLE_KIND = "model_h5"
NEVER_SENT = "model.file: not a Keras .h5 model, so never sent (even with --force)"


def model_file_problem(path: Path) -> str | None:
    """Why `path` is not a Keras HDF5 model file (e.g. "the file is empty (0 bytes)"), or None."""
    from tfbridge.verify.h5file import read_saved_file

    saved = read_saved_file(path)
    if saved.kind != SENDABLE_KIND:
        return f"{NEVER_SENT}: {saved.detail}"
    if "model_config" in saved.bad_attributes:
        return f"{NEVER_SENT}: its `model_config` attribute {saved.bad_attributes['model_config']}"
    problem = _model_config_problem(saved.model_config)
    return None if problem is None else f"{NEVER_SENT}: {problem}"


def _model_config_problem(model_config: Any) -> str | None:
    from tfbridge.keras29.config_shape import ConfigShapeError, check_model_config
    from tfbridge.keras29.graph import structure_problems
    from tfbridge.keras29.walker import MODEL_CLASSES

    try:
        check_model_config(model_config)
    except ConfigShapeError as error:
        return str(error)
    if model_config["class_name"] not in MODEL_CLASSES:
        return f"its model config is a `{model_config['class_name']}`, not a model"
    broken = structure_problems(model_config)
    return f"{broken[0].message} (at {broken[0].path})" if broken else None
