"""`convert()`: read a newer Keras `.h5`, write one Keras 2.9 loads with compile=True.

The input is only ever opened read-only; the output is written beside its final name and renamed
into place, so a failed conversion leaves nothing half-written.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

from tfbridge.convert.h5attrs import read_text_attr
from tfbridge.convert.layers import ConfigRewriter
from tfbridge.convert.report import RETRAIN_HINT, ConversionRefused, ConversionReport, Notes
from tfbridge.convert.rules import load_rules
from tfbridge.convert.training import TrainingConfigRewriter
from tfbridge.convert.weights import copy_optimizer_weights, copy_weights, top_level_weight_count
from tfbridge.errors import TfbridgeError

TARGET_KERAS_VERSION = "2.9.0"
OUTPUT_SUFFIX = ".tf29.h5"
SAVE_AS_H5_HINT = "load it where it was saved and write a full model with `model.save('model.h5')`"


def default_output(source: Path) -> Path:
    """`model.h5` -> `model.tf29.h5`, beside the input."""
    return source.with_name(source.stem + OUTPUT_SUFFIX)


def convert(
    source: Path, output: Path | None = None, *, drop_optimizer: bool = False
) -> ConversionReport:
    """Convert `source` into Keras 2.9's dialect at `output` (default `<stem>.tf29.h5`).

    Raises ConversionRefused (exit 1) listing every reason when the model cannot be converted
    faithfully, and TfbridgeError (exit 2) when the input is not a readable full-model `.h5`.
    """
    source = Path(source)
    output = Path(output) if output is not None else default_output(source)
    _check_paths(source, output)
    import h5py

    with _open_model_file(source) as model_file:
        notes = Notes()
        keras_version = read_text_attr(model_file, "keras_version")
        model_config, training_config = _rewrite_configs(model_file, source, notes, drop_optimizer)
        if "model_weights" not in model_file:
            raise TfbridgeError(f"{source} has a model config but no `model_weights` group")
        if top_level_weight_count(model_file):
            notes.refuse("the model has top-level weights of its own (a subclassed model)")
        if notes.refusals:
            raise ConversionRefused(source, notes.refusals, " ".join(notes.hints) or RETRAIN_HINT)
        keep_optimizer_state = (
            training_config is not None
            and training_config == _training_config(model_file)
            and "optimizer_weights" in model_file
        )
        if "optimizer_weights" in model_file and not keep_optimizer_state:
            notes.change("optimizer state left out: it restarts if the model is trained further")
        temporary = output.with_name(f".{output.name}.{os.getpid()}.tmp")
        try:
            with h5py.File(temporary, "w") as target:
                target.attrs["backend"] = b"tensorflow"
                target.attrs["keras_version"] = TARGET_KERAS_VERSION.encode("utf8")
                target.attrs["tfbridge_converted_from_keras"] = str(keras_version).encode("utf8")
                target.attrs["model_config"] = json.dumps(model_config).encode("utf8")
                if training_config is not None:
                    target.attrs["training_config"] = json.dumps(training_config).encode("utf8")
                if copy_weights(model_file, target, TARGET_KERAS_VERSION):
                    notes.change("weight names rewritten in Keras 2.9's form (`layer/kernel:0`)")
                if keep_optimizer_state:
                    copy_optimizer_weights(model_file, target)
            os.replace(temporary, output)
        finally:
            temporary.unlink(missing_ok=True)
    from tfbridge.runtime import carry_fingerprint

    return ConversionReport(
        source=source,
        output=output,
        source_keras_version=keras_version,
        changes=notes.changes,
        dropped=notes.dropped,
        fingerprint=carry_fingerprint(source, output),
    )


def _rewrite_configs(
    model_file: Any, source: Path, notes: Notes, drop_optimizer: bool
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    rules = load_rules()
    model_config = ConfigRewriter(rules, notes).model(_model_config(model_file, source))
    training_config = _training_config(model_file)
    if training_config is None:
        return model_config, None
    if drop_optimizer:
        notes.change("training config (optimizer, loss, metrics) left out: --drop-optimizer")
        return model_config, None
    return model_config, TrainingConfigRewriter(rules, notes).rewrite(training_config)


def _model_config(model_file: Any, source: Path) -> dict[str, Any]:
    text = read_text_attr(model_file, "model_config")
    if text is None:
        raise TfbridgeError(
            f"{source} holds weights only (no model config): there is no model to convert",
            hint=SAVE_AS_H5_HINT,
        )
    config: dict[str, Any] = _parse_json(text, source, "model_config")
    return config


def _training_config(model_file: Any) -> dict[str, Any] | None:
    text = read_text_attr(model_file, "training_config")
    if text is None:
        return None
    config: dict[str, Any] = json.loads(text)
    return config


def _parse_json(text: str, source: Path, attr: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise TfbridgeError(f"{source}: its `{attr}` is not valid JSON ({error.msg})") from None


def _check_paths(source: Path, output: Path) -> None:
    if not source.exists():
        raise TfbridgeError(f"{source} does not exist", hint="pass the path of a saved .h5 model")
    if source.is_dir():
        raise TfbridgeError(
            f"{source} is a directory (a SavedModel?); convert reads one .h5 file",
            hint=SAVE_AS_H5_HINT,
        )
    if zipfile.is_zipfile(source):
        raise TfbridgeError(
            f"{source} is a Keras 3 `.keras` archive, not an .h5 file", hint=SAVE_AS_H5_HINT
        )
    if output.resolve() == source.resolve():
        raise TfbridgeError(
            f"refusing to overwrite the input {source}", hint="pick another name with -o"
        )
    if not output.parent.is_dir():
        raise TfbridgeError(f"the output folder {output.parent} does not exist")


class _open_model_file:  # a context manager, named like open()
    def __init__(self, source: Path) -> None:
        self.source = source
        self.handle: Any = None

    def __enter__(self) -> Any:
        import h5py

        try:
            self.handle = h5py.File(self.source, "r")
        except OSError as error:
            raise TfbridgeError(
                f"{self.source} is not a readable HDF5 file ({_first_line(error)})",
                hint="check it was saved completely as .h5",
            ) from None
        return self.handle

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


def _first_line(error: BaseException) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
