"""Read what a saved Keras model file holds, without reading weight data or running anything.

Only HDF5 attributes and the structure of the weight groups (names, shapes, dtypes) are read:
dataset values never are, so the time taken does not grow with the model's size.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")

FileKind = Literal[
    "model_h5",
    "weights_h5",
    "hdf5_other",
    "keras_zip",
    "saved_model",
    "empty",
    "not_hdf5",
    "unreadable_hdf5",
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

    @property
    def readable(self) -> bool:
        return self.kind not in ("missing", "empty", "unreadable_hdf5")


def read_saved_file(path: Path) -> SavedFile:
    if not path.exists():
        return SavedFile(path, "missing", "no such file or directory")
    if path.is_dir() or path.name in SAVED_MODEL_FILES:
        return _directory(path)
    size = path.stat().st_size
    if size == 0:
        return SavedFile(path, "empty", "the file is empty (0 bytes)")
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(ZIP_SIGNATURE):
        return _zip(path)
    if not _looks_like_hdf5(path, head):
        return SavedFile(path, "not_hdf5", f"not an HDF5 file (starts with {head[:4]!r})")
    return _hdf5(path)


def _directory(path: Path) -> SavedFile:
    folder = path if path.is_dir() else path.parent
    if any((folder / name).is_file() for name in SAVED_MODEL_FILES):
        return SavedFile(folder, "saved_model", "a TensorFlow SavedModel directory")
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


def _hdf5(path: Path) -> SavedFile:
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            return _read_open_file(path, handle)
    except ValueError as error:
        return SavedFile(path, "unreadable_hdf5", f"a damaged Keras file: {error}")
    except (OSError, KeyError, RuntimeError) as error:
        reason = str(error).split("(")[0].strip() or type(error).__name__
        return SavedFile(path, "unreadable_hdf5", f"a truncated or damaged HDF5 file ({reason})")


def _read_open_file(path: Path, handle: Any) -> SavedFile:
    attrs = handle.attrs
    saved = SavedFile(
        path,
        "model_h5",
        keras_version=_text(attrs.get("keras_version")),
        backend=_text(attrs.get("backend")),
    )
    model_config = _text(attrs.get("model_config"))
    if model_config is None:
        saved.kind = "weights_h5" if _has_attribute(attrs, "layer_names") else "hdf5_other"
        saved.detail = (
            "weights only, no model config"
            if saved.kind == "weights_h5"
            else ("an HDF5 file with no Keras model in it")
        )
        if saved.kind == "weights_h5":
            saved.layer_weights = _weights(handle)
        return saved
    saved.model_config = _json(model_config, "model_config")
    training_config = _text(attrs.get("training_config"))
    saved.training_config = (
        None if training_config is None else _json(training_config, "training_config")
    )
    group = handle.get("model_weights")
    saved.has_weights_group = group is not None
    saved.layer_weights = {} if group is None else _weights(group)
    saved.has_optimizer_weights = "optimizer_weights" in handle
    return saved


def _weights(group: Any) -> dict[str, list[WeightInfo]]:
    layers: dict[str, list[WeightInfo]] = {}
    for layer_name in _attribute_list(group.attrs, "layer_names"):
        layer_group = group[layer_name]
        layers[layer_name] = [
            WeightInfo(
                name, tuple(int(d) for d in layer_group[name].shape), str(layer_group[name].dtype)
            )
            for name in _attribute_list(layer_group.attrs, "weight_names")
        ]
    return layers


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


def _json(text: str, attribute: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"its `{attribute}` attribute is not valid JSON ({error.msg})") from error
