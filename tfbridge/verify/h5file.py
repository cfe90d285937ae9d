"""Read what a saved Keras model file holds, without reading weight data or running anything.

Only HDF5 attributes and the structure of the weight groups (names, shapes, dtypes) are read:
dataset values never are, so the time taken does not grow with the model's size.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tfbridge.files import regular_file_problem
from tfbridge.keras29.precision import Tolerance, parity_tolerance
from tfbridge.model_files import SAVED_MODEL_FILES, is_saved_model_dir

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"

FileKind = Literal[
    "model_h5",
    "weights_h5",
    "hdf5_other",
    "keras_zip",
    "saved_model",
    "empty",
    "not_hdf5",
    "unreadable_hdf5",
    "not_regular",
    "missing",
]


@dataclass(frozen=True)
class WeightInfo:
    name: str
    shape: tuple[int, ...]
    dtype: str


@dataclass
class SavedFile:
    """What tfbridge learnt from a path before emulating Keras 2.9's loader on it."""

    path: Path
    kind: FileKind
    detail: str = ""
    keras_version: str | None = None
    backend: str | None = None
    model_config: Any = None
    training_config: Any = None
    layer_weights: dict[str, list[WeightInfo]] = field(default_factory=dict)
    has_optimizer_weights: bool = False
    has_weights_group: bool = False
    # Attributes that exist but cannot be read as Keras 2.9 reads them: name -> why not.
    bad_attributes: dict[str, str] = field(default_factory=dict)
    weights_problem: str = ""

    @property
    def readable(self) -> bool:
        return self.kind not in ("missing", "empty", "unreadable_hdf5", "not_regular")


def read_saved_file(path: Path) -> SavedFile:
    if os.path.isdir(path) or path.name in SAVED_MODEL_FILES:
        return _directory(path)
    problem = regular_file_problem(path)
    if problem is not None:
        kind: FileKind = "missing" if problem == "no such file" else "not_regular"
        return SavedFile(path, kind, problem)
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as error:
        return SavedFile(path, "not_regular", f"cannot be read ({error.strerror or error})")
    if size == 0:
        return SavedFile(path, "empty", "the file is empty (0 bytes)")
    if head.startswith(ZIP_SIGNATURE):
        return _zip(path)
    return _hdf5(path, head)


def _directory(path: Path) -> SavedFile:
    folder = path if os.path.isdir(path) else path.parent
    if is_saved_model_dir(folder):
        return SavedFile(folder, "saved_model", "a TensorFlow SavedModel directory")
    try:
        with os.scandir(folder):
            pass
    except OSError as error:
        why = error.strerror or type(error).__name__
        return SavedFile(folder, "not_regular", f"a directory that cannot be listed ({why})")
    return SavedFile(folder, "missing", "a directory with no .h5 model in it")


def _zip(path: Path) -> SavedFile:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            version = None
            if "metadata.json" in names:
                version = json.loads(archive.read("metadata.json")).get("keras_version")
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        return SavedFile(path, "unreadable_hdf5", f"a damaged zip archive ({error})")
    if "config.json" in names:
        return SavedFile(path, "keras_zip", "a Keras 3 `.keras` zip archive", keras_version=version)
    return SavedFile(path, "not_hdf5", "a zip archive, not an HDF5 model file")


def _looks_like_hdf5(path: Path, head: bytes) -> bool:
    if head == HDF5_SIGNATURE:
        return True
    import h5py

    return bool(h5py.is_hdf5(str(path)))


def _hdf5(path: Path, head: bytes) -> SavedFile:
    import h5py

    try:
        if not _looks_like_hdf5(path, head):
            return SavedFile(path, "not_hdf5", f"not an HDF5 file (starts with {head[:4]!r})")
        with h5py.File(path, "r") as handle:
            return _read_open_file(path, handle)
    except (OSError, KeyError, RuntimeError, ValueError) as error:
        reason = str(error).split("(")[0].strip() or type(error).__name__
        return SavedFile(path, "unreadable_hdf5", f"a truncated or damaged HDF5 file ({reason})")


def _read_open_file(path: Path, handle: Any) -> SavedFile:
    attrs = handle.attrs
    saved = SavedFile(path, "model_h5")
    saved.keras_version = _attribute(saved, attrs, "keras_version")
    saved.backend = _attribute(saved, attrs, "backend")
    model_config = _attribute(saved, attrs, "model_config")
    if model_config is None and "model_config" not in saved.bad_attributes:
        saved.kind = "weights_h5" if _has_attribute(attrs, "layer_names") else "hdf5_other"
        saved.detail = (
            "weights only, no model config"
            if saved.kind == "weights_h5"
            else ("an HDF5 file with no Keras model in it")
        )
        if saved.kind == "weights_h5":
            saved.layer_weights = _weights(saved, handle)
        return saved
    saved.model_config = _json(saved, model_config, "model_config")
    training_config = _attribute(saved, attrs, "training_config")
    saved.training_config = _json(saved, training_config, "training_config")
    group = handle.get("model_weights")
    saved.has_weights_group = group is not None
    if group is not None and not hasattr(group, "keys"):
        saved.weights_problem = (
            "`model_weights` is a dataset, not the group of weights Keras writes"
        )
    elif group is not None:
        saved.layer_weights = _weights(saved, group)
    saved.has_optimizer_weights = "optimizer_weights" in handle
    return saved


def _weights(saved: SavedFile, group: Any) -> dict[str, list[WeightInfo]]:
    layers: dict[str, list[WeightInfo]] = {}
    try:
        for layer_name in _attribute_list(group.attrs, "layer_names"):
            layer_group = group[layer_name]
            layers[layer_name] = [
                _weight_info(name, layer_group[name])
                for name in _attribute_list(layer_group.attrs, "weight_names")
            ]
    except (KeyError, AttributeError, TypeError, ValueError) as error:
        saved.weights_problem = f"the weight groups are damaged or incomplete ({error})"
        return {}
    return layers


def _weight_info(name: str, dataset: Any) -> WeightInfo:
    if not hasattr(dataset, "shape") or not hasattr(dataset, "dtype"):
        raise TypeError(f"weight {name!r} is not a dataset")
    return WeightInfo(name, tuple(int(d) for d in dataset.shape), str(dataset.dtype))


def _has_attribute(attrs: Any, name: str) -> bool:
    return name in attrs or f"{name}0" in attrs


def _attribute_list(attrs: Any, name: str) -> list[str]:
    """A list attribute; Keras splits big ones into `name0`, `name1`, ... (HDF5's 64 KB limit)."""
    if name in attrs:
        values = list(attrs[name])
    else:
        values = []
        index = 0
        while f"{name}{index}" in attrs:
            values.extend(attrs[f"{name}{index}"])
            index += 1
    return [text for value in values if (text := _text(value)) is not None]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


def _attribute(saved: SavedFile, attrs: Any, name: str) -> str | None:
    """A text attribute; one that is not UTF-8 is recorded as bad (Keras 2.9 decodes it so)."""
    try:
        return _text(attrs.get(name))
    except UnicodeDecodeError:
        saved.bad_attributes[name] = "is not UTF-8 text, so Keras 2.9 cannot decode it"
        return None


def _json(saved: SavedFile, text: str | None, attribute: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        why = f"is not valid JSON ({error.msg}), so it is not a readable Keras config"
    except RecursionError:
        why = "holds JSON nested too deep to read, so it is not a readable Keras config"
    saved.bad_attributes[attribute] = why
    return None


def parity_tolerance_of(path: Path, atol: float, rtol: float) -> Tolerance:
    """The prediction-parity tolerance for the model at `path`: `atol`/`rtol` for a float32
    model, a few epsilons of its compute dtype when it computes in float16 or bfloat16
    (keras29.precision). Reads the config attribute only; an unreadable file keeps `atol`/`rtol`."""
    saved = read_saved_file(path)
    if saved.model_config is None:
        return Tolerance(atol, rtol, "unknown")
    return parity_tolerance(saved.model_config, atol, rtol)
