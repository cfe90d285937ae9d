"""The static verdict equals what the real TF 2.9 did with every labelled fixture."""

from __future__ import annotations

from typing import Any

import pytest

from tests.verify.conftest import MODELS, fixture_labels
from tfbridge.verify import static_check

LABELS = fixture_labels()
H5_FIXTURES = sorted(rel for rel, label in LABELS.items() if label["category"] != "savedmodel")
SAVED_MODELS = sorted(rel for rel, label in LABELS.items() if label["category"] == "savedmodel")


@pytest.mark.parametrize("rel", H5_FIXTURES)
def test_static_prediction_equals_real_tf29(rel: str) -> None:
    label: dict[str, Any] = LABELS[rel]
    report = static_check(MODELS / rel)
    assert report.static_load == label["loads"], [c.message for c in report.checks]
    assert (report.verdict == "fail") == (label["loads"] != "compile") or _only_warned(report)
    ids = {check.id for check in report.checks if check.status == "fail"}
    if label["loads"] == "no-compile":
        # Tell the no-compile case apart: the model config is fine, the training config is not.
        assert "static.training_config" in ids
        assert not ids & {"static.model_config", "static.weights", "static.file"}
    if label["loads"] == "never":
        assert ids & {"static.model_config", "static.weights", "static.file"}


def _only_warned(report: Any) -> bool:
    return report.verdict == "warn" and report.static_load == "compile"


@pytest.mark.parametrize("rel", SAVED_MODELS)
def test_saved_model_directories_fail_because_the_grader_needs_h5(rel: str) -> None:
    report = static_check(MODELS / rel)
    assert report.verdict == "fail"
    assert report.static_load is None  # outside the .h5 emulation, whatever TF makes of it
    assert any(c.id == "static.file" and ".h5" in c.message for c in report.checks)


def test_every_failure_names_a_fix() -> None:
    for rel in H5_FIXTURES:
        report = static_check(MODELS / rel)
        for check in report.checks:
            if check.status == "fail" and check.id != "static.load":
                assert check.hint, (rel, check.message)


def test_keras3_findings_name_layer_argument_and_writer() -> None:
    report = static_check(MODELS / "keras-3" / "dense_regression.h5")
    messages = " ".join(c.message for c in report.checks)
    assert "InputLayer" in messages and "`batch_shape`" in messages
    assert "Keras 3." in messages


def test_custom_layer_is_named_with_the_register_or_replace_fix() -> None:
    report = static_check(MODELS / "keras-2.9" / "custom_layer.h5")
    custom = [c for c in report.checks if "ScaleLayer" in c.message]
    assert custom and "register/replace the custom layer" in custom[0].hint


def test_lambda_layer_warns_that_loading_runs_code() -> None:
    report = static_check(MODELS / "keras-2.9" / "timeseries_lambda.h5")
    lambdas = [c for c in report.checks if c.id == "static.lambda"]
    assert lambdas and lambdas[0].status == "warn"
    assert "runs its Python bytecode" in lambdas[0].message


def test_static_check_never_imports_tensorflow() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path; from tfbridge.verify import static_check; "
        f"static_check(Path({str(MODELS / 'keras-3' / 'cnn_classifier.h5')!r})); "
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]
