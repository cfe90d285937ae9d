"""The static check: read the file's structure, emulate Keras 2.9's loader on it, check the
contract. Never imports TensorFlow, never runs code from the model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tfbridge.contract import Contract
from tfbridge.keras29.graph import (
    StructureProblem,
    layer_count_problems,
    structure_problems,
    weight_size_problems,
)
from tfbridge.keras29.knowledge import load_knowledge
from tfbridge.keras29.walk import Walk
from tfbridge.keras29.walker import LAMBDA_CLASSES
from tfbridge.verify.contract_check import check_contract, model_signature
from tfbridge.verify.findings import (
    CHECK_IDS,
    FIX_CONVERT,
    FIX_CUSTOM,
    FIX_SAVE_H5,
    Finding,
    Problems,
    Stage,
    Writer,
)
from tfbridge.verify.h5file import SavedFile, WeightInfo, read_saved_file
from tfbridge.verify.model_config import ModelConfigEmulator
from tfbridge.verify.result import Check, LoadOutcome, ModelReport, Verdict
from tfbridge.verify.training_config import TrainingConfigEmulator

NEVER_STAGES = ("file", "model", "weights")
UNSAFE_TO_LOAD = "its structure is broken: TF 2.9 may never return from loading it"
STATIC_ERROR_CHECK = "static.error"

FILE_FINDINGS: dict[str, tuple[str, str]] = {
    "keras_zip": (
        "TF 2.9 cannot load `.keras` zip archives (the Keras 3 format); the grader needs one .h5",
        "save it as .h5 with a Keras 2.9 runtime: `tfbridge convert`, or retrain in `metal`",
    ),
    "saved_model": (
        "a SavedModel directory: the grader loads one .h5 file per question",
        "save the model as .h5 (`model.save('model.h5')`) or run `tfbridge convert`",
    ),
    "weights_h5": (
        "weights only, no model config: load_model fails with 'No model config found'",
        FIX_SAVE_H5,
    ),
    "hdf5_other": ("an HDF5 file with no Keras model config in it", FIX_SAVE_H5),
}


def static_check(path: Path, contract: Contract | None = None) -> ModelReport:
    """Predict what TF 2.9's `load_model(path)` does with `path`, without TensorFlow.

    Never raises for what is in the file: whatever goes wrong reading one model becomes that
    model's failing check, so a batch (verify, sync, train, convert) always reaches the others.
    """
    path = Path(path)
    try:
        return _static_check(path, contract)
    except Exception as error:  # one model's surprise must not end the batch
        return _internal_error_report(path, error)


def _static_check(path: Path, contract: Contract | None) -> ModelReport:
    saved = read_saved_file(path)
    findings = _file_findings(saved)
    signature = None
    broken = structure_problems(saved.model_config) if saved.kind == "model_h5" else []
    if saved.kind == "model_h5":
        findings.extend(_emulate(saved, broken))
        if contract is not None and not contract.is_empty:
            signature = model_signature(saved.model_config)
            findings.extend(check_contract(contract, signature))
    # A SavedModel is outside what the .h5 emulation predicts; it fails because the grader
    # loads an .h5, whatever TF would make of the directory.
    outcome = None if saved.kind == "saved_model" else predict_load(findings)
    report = ModelReport(
        path=saved.path,
        verdict="pass",
        checks=[_load_check(saved, outcome), *(_check(finding) for finding in findings)],
        keras_version=saved.keras_version,
        static_load=outcome,
        readable=saved.readable and saved.kind != "not_hdf5",
        runs_code=_runs_code(saved, findings),
        unsafe_to_load=UNSAFE_TO_LOAD if broken else "",
    )
    report.verdict = verdict_of(report.checks)
    return report


def _internal_error_report(path: Path, error: Exception) -> ModelReport:
    if isinstance(error, RecursionError):
        check = Check(
            STATIC_ERROR_CHECK,
            "fail",
            "its config is nested too deep to be a readable Keras model config (RecursionError)",
            FIX_SAVE_H5,
        )
    else:
        detail = f"{type(error).__name__}: {error}".splitlines()[0][:300]
        check = Check(
            STATIC_ERROR_CHECK,
            "fail",
            f"the static check could not read this model ({detail}); other models were checked",
            "this is a bug in tfbridge: please report it with the file",
        )
    return ModelReport(
        path=path,
        verdict="fail",
        checks=[check],
        static_load=None,
        runs_code="the static check could not tell whether it holds code",
    )


def _runs_code(saved: SavedFile, findings: list[Finding]) -> str:
    """Why loading the model runs code from it (so it is loaded only with --trust), or ""."""
    if _holds_lambda(saved.model_config):
        return "it has Lambda layers"
    if any(finding.hint == FIX_CUSTOM for finding in findings):
        return "it uses classes or functions Keras 2.9 does not know"
    return ""


def _holds_lambda(config: Any) -> bool:
    """Any Lambda anywhere in the config, however it is nested (an explicit stack: no recursion
    limit), so no wrapper or dialect the emulator does not walk can hide one."""
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("class_name") in LAMBDA_CLASSES or "function_type" in item:
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def predict_load(findings: list[Finding]) -> LoadOutcome:
    failed = {finding.stage for finding in findings if finding.severity == "fail"}
    if failed & set(NEVER_STAGES):
        return "never"
    if "compile" in failed:
        return "no-compile"
    return "compile"


def verdict_of(checks: list[Check]) -> Verdict:
    statuses = {check.status for check in checks}
    if "fail" in statuses:
        return "fail"
    return "warn" if "warn" in statuses else "pass"


def _file_findings(saved: SavedFile) -> list[Finding]:
    if saved.kind == "model_h5":
        return []
    message, hint = FILE_FINDINGS.get(saved.kind, (saved.detail, ""))
    if not hint:
        hint = "give the path of a Keras .h5 model (what `model.save('model.h5')` writes)"
    return [Finding("file", "fail", message, hint)]


def _emulate(saved: SavedFile, broken: list[StructureProblem]) -> list[Finding]:
    knowledge = load_knowledge()
    writer = Writer(saved.keras_version)
    problems = Problems()
    if "model_config" not in saved.bad_attributes:
        Walk(ModelConfigEmulator(knowledge, writer, problems)).model(saved.model_config)
    if saved.training_config is not None:
        Walk(TrainingConfigEmulator(knowledge, writer, problems)).training(saved.training_config)
    findings = [*_attribute_findings(saved), *problems.findings()]
    if saved.training_config is None and "training_config" not in saved.bad_attributes:
        findings.append(
            Finding(
                "compile",
                "warn",
                "no training config: it loads uncompiled (Keras 2.9 only warns)",
                "compile the model before saving if the question expects a compiled model",
            )
        )
    if saved.backend not in (None, "tensorflow"):
        findings.append(
            Finding(
                "file",
                "fail",
                f"saved with the `{saved.backend}` backend; "
                "TF 2.9 loads only TensorFlow-backend models",
                FIX_CONVERT,
            )
        )
    findings.append(_weights_finding(saved))
    findings.extend(_structure_findings(saved, broken))
    return findings


def _structure_findings(saved: SavedFile, model: list[StructureProblem]) -> list[Finding]:
    """The graph, nesting, shapes and sizes TF 2.9 fails on (or never returns from)."""
    config, weights = saved.model_config, saved.layer_weights
    stored = [*weight_size_problems(config, weights), *layer_count_problems(config, weights)]
    return [_structure_finding("model", problem) for problem in model] + [
        _structure_finding("weights", problem) for problem in stored
    ]


def _structure_finding(stage: Stage, problem: StructureProblem) -> Finding:
    return Finding(stage, "fail", f"{problem.message} (at {problem.path})", FIX_SAVE_H5)


def _attribute_findings(saved: SavedFile) -> list[Finding]:
    """Attributes Keras 2.9 cannot even decode: the training config stops only compile=True."""
    return [
        Finding(
            "compile" if attribute == "training_config" else "model",
            "fail",
            f"its `{attribute}` attribute {why}",
            FIX_SAVE_H5,
        )
        for attribute, why in saved.bad_attributes.items()
    ]


def _weights_finding(saved: SavedFile) -> Finding:
    if saved.weights_problem:
        return Finding("weights", "fail", saved.weights_problem, FIX_SAVE_H5)
    if not saved.has_weights_group:
        return Finding(
            "weights",
            "fail",
            "no `model_weights` group: load_model cannot set weights",
            FIX_SAVE_H5,
        )
    tensors = [w for weights in saved.layer_weights.values() for w in weights]
    layers = sum(1 for weights in saved.layer_weights.values() if weights)
    return Finding(
        "weights",
        "pass",
        f"{len(tensors)} weight tensors in {layers} layers, "
        f"{_parameters(tensors):,} parameters (structure only; data not read)",
    )


def _parameters(tensors: list[WeightInfo]) -> int:
    total = 0
    for tensor in tensors:
        count = 1
        for dim in tensor.shape:
            count *= dim
        total += count
    return total


def _load_check(saved: SavedFile, outcome: LoadOutcome | None) -> Check:
    writer = Writer(saved.keras_version).label
    if outcome == "compile":
        return Check(
            "static.load",
            "pass",
            f"TF 2.9 loads it as the grader does (compile=True); saved by {writer}",
        )
    if saved.kind != "model_h5":
        return Check("static.load", "fail", f"TF 2.9 cannot load it: {saved.detail}")
    if outcome == "no-compile":
        return Check(
            "static.load",
            "fail",
            f"TF 2.9 loads it only with compile=False; the "
            f"grader's compile=True load fails (saved by {writer})",
            "fix the training config findings below (`tfbridge convert`)",
        )
    return Check(
        "static.load",
        "fail",
        f"TF 2.9 does not load it, not even with compile=False (saved by {writer})",
        "fix the findings below",
    )


def _check(finding: Finding) -> Check:
    return Check(CHECK_IDS[finding.stage], finding.severity, finding.message, finding.hint)
