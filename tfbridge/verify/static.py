"""The static check: read the file's structure, emulate Keras 2.9's loader on it, check the
contract. Never imports TensorFlow, never runs code from the model."""

from __future__ import annotations

from pathlib import Path

from tfbridge.contract import Contract
from tfbridge.verify.contract_check import check_contract, model_signature
from tfbridge.verify.findings import (
    CHECK_IDS,
    FIX_CONVERT,
    FIX_SAVE_H5,
    Finding,
    Problems,
    Writer,
)
from tfbridge.verify.h5file import SavedFile, WeightInfo, read_saved_file
from tfbridge.verify.knowledge import load_knowledge
from tfbridge.verify.model_config import ModelConfigEmulator
from tfbridge.verify.result import Check, LoadOutcome, ModelReport, Verdict
from tfbridge.verify.training_config import TrainingConfigEmulator

NEVER_STAGES = ("file", "model", "weights")

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
    """Predict what TF 2.9's `load_model(path)` does with `path`, without TensorFlow."""
    saved = read_saved_file(path)
    findings = _file_findings(saved)
    signature = None
    if saved.kind == "model_h5":
        findings.extend(_emulate(saved))
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
    )
    report.verdict = verdict_of(report.checks)
    return report


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


def _emulate(saved: SavedFile) -> list[Finding]:
    knowledge = load_knowledge()
    writer = Writer(saved.keras_version)
    problems = Problems()
    ModelConfigEmulator(knowledge, writer, problems).model(saved.model_config)
    if saved.training_config is not None:
        TrainingConfigEmulator(knowledge, writer, problems).training_config(saved.training_config)
    findings = problems.findings()
    if saved.training_config is None:
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
    return findings


def _weights_finding(saved: SavedFile) -> Finding:
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
