"""Static and runtime verdicts agree: every fixture loaded for real in the exam runtime."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.verify.conftest import MODELS, fixture_labels
from tfbridge.verify import VerifyReport, verify_model, verify_paths

pytestmark = pytest.mark.runtime
LABELS = fixture_labels()


@pytest.fixture(scope="module")
def runtime_report(exam_python: Path) -> VerifyReport:
    # One worker serves every fixture; --trust so Lambda/custom models are really loaded.
    paths = [MODELS / rel for rel in sorted(LABELS)]
    return verify_paths(paths, exam_python=exam_python, trust=True)


def test_runtime_outcome_equals_label_and_static_prediction(runtime_report: VerifyReport) -> None:
    for rel, model in zip(sorted(LABELS), runtime_report.models, strict=True):
        expected = LABELS[rel]["loads"]
        if not model.readable:
            assert expected == "never", rel
            continue
        if model.path.is_dir():  # a SavedModel: verify fails it statically (the grader needs .h5)
            assert model.verdict == "fail" and model.runtime_load is None, rel
            continue
        assert model.runtime_load == expected, (rel, [c.message for c in model.checks])
        if model.static_load is not None:
            assert model.static_load == model.runtime_load, rel
        assert not any(c.id == "runtime.agreement" for c in model.checks), rel


def test_lambda_model_is_not_loaded_without_trust(exam_python: Path) -> None:
    report = verify_model(MODELS / "keras-2.9" / "timeseries_lambda.h5", exam_python=exam_python)
    load = [c for c in report.checks if c.id == "runtime.load"]
    assert load and load[0].status == "skip" and "--trust" in load[0].hint
    assert report.runtime_load is None


def test_parity_against_a_reference_interpreter(exam_python: Path) -> None:
    # The exam runtime as its own reference: identical probes must give identical outputs.
    report = verify_model(
        MODELS / "keras-2.9" / "cnn_classifier.h5",
        exam_python=exam_python,
        reference_python=exam_python,
    )
    parity = [c for c in report.checks if c.id == "runtime.parity"]
    assert parity and parity[0].status == "pass", parity
    assert "max abs diff 0" in parity[0].message
