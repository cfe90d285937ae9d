"""`convert()`: read a newer Keras `.h5`, write one Keras 2.9 loads with compile=True.

The input is only ever opened read-only; the output is written beside its final name and renamed
into place, so a failed conversion leaves nothing half-written.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfbridge.convert.autocast import drop_autocast_layers
from tfbridge.convert.h5attrs import read_text_attr
from tfbridge.convert.layers import ConfigRewriter
from tfbridge.convert.operations import operations_as_tf_op_layers
from tfbridge.convert.parity import check_parity as prove_parity
from tfbridge.convert.parity import reference_fingerprint
from tfbridge.convert.report import (
    RETRAIN_HINT,
    ConversionRefused,
    ConversionReport,
    Notes,
    ParityCheck,
)
from tfbridge.convert.semantics_gate import SemanticsGate
from tfbridge.convert.training import DROP_OPTIMIZER_HINT, TrainingConfigRewriter
from tfbridge.convert.weights import (
    check_weights,
    copy_optimizer_weights,
    copy_weights,
    top_level_weight_count,
    weight_structure,
)
from tfbridge.errors import TfbridgeError
from tfbridge.files import atomic_output, check_writable_target, require_regular_file
from tfbridge.keras29.config_shape import (
    ConfigShapeError,
    check_model_config,
    check_training_config,
)
from tfbridge.keras29.graph import structure_problems
from tfbridge.keras29.rules import load_rules
from tfbridge.keras29.semantics import KERAS3_PREFIX
from tfbridge.keras29.walk import Walk
from tfbridge.keras29.walker import MODEL_CLASSES
from tfbridge.runtime import fingerprint_path, read_fingerprint

TARGET_KERAS_VERSION = "2.9.0"
OUTPUT_SUFFIX = ".tf29.h5"
SAVE_AS_H5_HINT = "load it where it was saved and write a full model with `model.save('model.h5')`"

Json = dict[str, Any]


@dataclass
class _Plan:
    """Everything decided from the input before a byte of output is written."""

    notes: Notes
    keras_version: str | None
    model_config: Json
    training_config: Json | None
    keep_optimizer_state: bool


def default_output(source: Path) -> Path:
    """`model.h5` -> `model.tf29.h5`, beside the input."""
    return source.with_name(source.stem + OUTPUT_SUFFIX)


def convert(
    source: Path,
    output: Path | None = None,
    *,
    drop_optimizer: bool = False,
    check_parity: bool = True,
    reference_python: Path | None = None,
    trust: bool = False,
    progress: Callable[[str], None] | None = None,
) -> ConversionReport:
    """Convert `source` into Keras 2.9's dialect at `output` (default `<stem>.tf29.h5`).

    With `check_parity` (the default) the output is loaded in the exam runtime and compared with
    the original's fingerprint (made first with `reference_python` when there is none); a file
    that does not load or predicts otherwise is removed (ParityMismatch, exit 1). Models with
    Lambda layers are loaded for that only with `trust` (loading runs their code).

    Raises ConversionRefused (exit 1) listing every reason when the model cannot be converted
    faithfully, and TfbridgeError (exit 2) when the input is not a readable full-model `.h5` or
    the output cannot be written. Nothing is written until every check has passed; a step that
    fails after writing removes the output again.
    """
    source = Path(source)
    output = Path(output) if output is not None else default_output(source)
    _check_paths(source, output)
    read_fingerprint(source)  # an unreadable fingerprint stops us before anything is written
    with _open_model_file(source) as model_file:
        plan = _plan(model_file, source, drop_optimizer)
        no_reference = None
        if check_parity and reference_python is not None:
            no_reference = reference_fingerprint(source, Path(reference_python), trust=trust)
        if not check_parity or no_reference is not None or not _fresh_fingerprint(source):
            _refuse_unproven(source, plan.notes, no_reference or _NO_PROOF)
        _write(model_file, output, plan)
    try:
        fingerprint = _carry_fingerprint(source, output)
        if not check_parity or no_reference is not None:
            parity = ParityCheck("unchecked", no_reference or "not asked for (--no-parity)")
        else:
            parity = prove_parity(source, output, fingerprint, trust=trust, progress=progress)
        if parity.status != "pass":
            _refuse_unproven(source, plan.notes, parity.detail)
    except BaseException:
        _remove_output(output)
        raise
    return ConversionReport(
        source=source,
        output=output,
        source_keras_version=plan.keras_version,
        changes=plan.notes.changes,
        dropped=plan.notes.dropped,
        fingerprint=fingerprint,
        parity=parity,
    )


def _plan(model_file: Any, source: Path, drop_optimizer: bool) -> _Plan:
    notes = Notes()
    keras_version = read_text_attr(model_file, "keras_version")
    original_model_config = _model_config(model_file, source)
    original_training = None if drop_optimizer else _training_config(model_file, source)
    check_weights(model_file)
    _refuse_broken_structure(source, original_model_config, weight_structure(model_file))
    rules = load_rules()
    gate = SemanticsGate(keras_version, notes)
    model_config = drop_autocast_layers(original_model_config, rules, notes)
    if gate.line is not None and gate.line.startswith(KERAS3_PREFIX):
        model_config = operations_as_tf_op_layers(model_config, rules, notes)
    model_config = Walk(ConfigRewriter(rules, notes, gate)).model(model_config)
    training_config = None
    if original_training is not None:
        training_rewriter = TrainingConfigRewriter(rules, notes, gate)
        training_config = Walk(training_rewriter).training(original_training)
    elif drop_optimizer and "training_config" in model_file.attrs:
        notes.change("training config (optimizer, loss, metrics) left out: --drop-optimizer")
    if top_level_weight_count(model_file):
        notes.refuse("the model has top-level weights of its own (a subclassed model)")
    if notes.refusals:
        raise ConversionRefused(source, notes.refusals, " ".join(notes.hints) or RETRAIN_HINT)
    keep_optimizer_state = (
        training_config is not None
        and training_config == original_training
        and "optimizer_weights" in model_file
    )
    if "optimizer_weights" in model_file and not keep_optimizer_state:
        notes.change("optimizer state left out: it restarts if the model is trained further")
    return _Plan(notes, keras_version, model_config, training_config, keep_optimizer_state)


_NO_PROOF = (
    "no fingerprint of the original to check it with (`tfbridge fingerprint MODEL` where it was "
    "saved, or --reference-python)"
)


def _fresh_fingerprint(source: Path) -> bool:
    fingerprint = read_fingerprint(source)
    return fingerprint is not None and not fingerprint.stale


def _refuse_unproven(source: Path, notes: Notes, why_unchecked: str) -> None:
    """Refuse when the model holds a change that only a passing parity check can clear."""
    if notes.unproven:
        reasons = [
            f"{reason}; convert writes it only once TF 2.9's predictions match the "
            f"original's, and they could not be checked: {why_unchecked}"
            for reason in notes.unproven
        ]
        raise ConversionRefused(
            source,
            reasons,
            "fingerprint the model where it was saved "
            "(`tfbridge fingerprint MODEL`), then convert again",
        )


def _refuse_broken_structure(
    source: Path, model_config: Any, weights: dict[str, list[tuple[str, tuple[int, ...]]]]
) -> None:
    """A graph, nesting, shape or size TF 2.9 fails on (or never returns from) has no faithful
    conversion: the file itself is broken, so there is nothing to rewrite."""
    problems = structure_problems(model_config, weights)
    if problems:
        reasons = [f"{problem.message} (at {problem.path})" for problem in problems[:5]]
        raise ConversionRefused(source, reasons, SAVE_AS_H5_HINT)


def _write(model_file: Any, output: Path, plan: _Plan) -> None:
    import h5py

    with atomic_output(output) as temporary, h5py.File(temporary, "w") as target:
        target.attrs["backend"] = b"tensorflow"
        target.attrs["keras_version"] = TARGET_KERAS_VERSION.encode("utf8")
        source_version = str(plan.keras_version).encode("utf8")
        target.attrs["tfbridge_converted_from_keras"] = source_version
        target.attrs["model_config"] = json.dumps(plan.model_config).encode("utf8")
        if plan.training_config is not None:
            target.attrs["training_config"] = json.dumps(plan.training_config).encode("utf8")
        if copy_weights(model_file, target, TARGET_KERAS_VERSION):
            plan.notes.change("weight names rewritten in Keras 2.9's form (`layer/kernel:0`)")
        if plan.keep_optimizer_state:
            copy_optimizer_weights(model_file, target)


def _carry_fingerprint(source: Path, output: Path) -> Path | None:
    from tfbridge.runtime import carry_fingerprint

    try:
        return carry_fingerprint(source, output)
    except OSError as error:
        raise TfbridgeError(
            f"cannot write {fingerprint_path(output)}: {error.strerror or error}",
            hint="choose an output path in a folder you can write to",
        ) from None


def _remove_output(output: Path) -> None:
    """Undo a conversion whose later step failed: its output and the fingerprint beside it."""
    for path in (output, fingerprint_path(output)):
        with suppress(OSError):
            path.unlink()


def _model_config(model_file: Any, source: Path) -> Json:
    text = read_text_attr(model_file, "model_config")
    if text is None:
        raise TfbridgeError(
            f"{source} holds weights only (no model config): there is no model to convert",
            hint=SAVE_AS_H5_HINT,
        )
    config = _parse_json(text, source, "model_config")
    try:
        check_model_config(config)
    except ConfigShapeError as error:
        raise _not_keras(source, str(error)) from None
    class_name = config["class_name"]
    if class_name not in MODEL_CLASSES and load_rules().knowledge.resolve("layer", class_name):
        raise _not_keras(source, f"its top-level object is a `{class_name}` layer, not a model")
    checked: Json = config
    return checked


def _training_config(model_file: Any, source: Path) -> Json | None:
    text = read_text_attr(model_file, "training_config")
    if text is None:
        return None
    config = _parse_json(text, source, "training_config", DROP_OPTIMIZER_HINT)
    try:
        check_training_config(config)
    except ConfigShapeError as error:
        raise TfbridgeError(
            f"{source}: its training config is not one Keras wrote: {error}",
            hint=DROP_OPTIMIZER_HINT,
        ) from None
    checked: Json = config
    return checked


def _not_keras(source: Path, why: str) -> TfbridgeError:
    return TfbridgeError(f"{source} is not a model Keras wrote: {why}", hint=SAVE_AS_H5_HINT)


def _parse_json(text: str, source: Path, attr: str, hint: str = SAVE_AS_H5_HINT) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise TfbridgeError(
            f"{source}: its `{attr}` is not valid JSON ({error.msg})", hint=hint
        ) from None
    except RecursionError:
        raise TfbridgeError(
            f"{source}: its `{attr}` nests too deeply to be a Keras config", hint=hint
        ) from None


def _check_paths(source: Path, output: Path) -> None:
    """Refuse, before anything is opened or written, an input or output that cannot be right."""
    if source.is_dir():
        raise TfbridgeError(
            f"{source} is a directory (a SavedModel?); convert reads one .h5 file",
            hint=SAVE_AS_H5_HINT,
        )
    require_regular_file(source, hint="pass the path of a saved .h5 model")
    if zipfile.is_zipfile(source):
        raise TfbridgeError(
            f"{source} is a Keras 3 `.keras` archive, not an .h5 file", hint=SAVE_AS_H5_HINT
        )
    inputs = {Path(os.path.realpath(path)) for path in (source, fingerprint_path(source))}
    for target in (output, fingerprint_path(output)):
        if check_writable_target(target) in inputs:
            raise TfbridgeError(
                f"refusing to overwrite the input {source} or its fingerprint with {target}",
                hint="pick another name with -o",
            )


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
