"""No false pass (issue 10): what the real TF 2.9 rejects, verify rejects, for the same reason.

The mixed-precision fixtures were saved by real Keras 2.13, 2.14 and tf-keras 2.16 and labelled by
the real TF 2.9 (scripts/fixtures/mixed_precision.py); the useless model is a real Keras 2.9 model
whose weights were set to NaN with h5py.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import h5py
import numpy as np
import pytest

from tests.conftest import REPO
from tests.verify.conftest import FIXTURES, MODELS
from tfbridge.verify import static_check, verify_model, verify_paths

MIXED = FIXTURES / "mixed_precision"
MIXED_LABELS: dict[str, dict[str, Any]] = json.loads((MIXED / "labels.json").read_text())[
    "fixtures"
]
FIXTURE_BUILDER = REPO / "scripts" / "fixtures" / "build.py"
GOOD = MODELS / "keras-2.9" / "dense_regression.h5"


def fixture_builder() -> ModuleType:
    """scripts/fixtures/build.py, whose labeller runs label.py in the exam runtime."""
    spec = importlib.util.spec_from_file_location("fixture_build", FIXTURE_BUILDER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rejected_argument(error: str) -> str:
    match = re.search(r"argument passed to optimizer: (\w+)", error)
    assert match, error
    return match[1]


NEW_STYLE = sorted(rel for rel in MIXED_LABELS if MIXED_LABELS[rel]["saver"] != "keras-2.9")


def test_every_mixed_precision_saver_is_covered() -> None:
    savers = {label["saver"]: label["loads"] for label in MIXED_LABELS.values()}
    assert savers == {
        "keras-2.9": "compile",
        "keras-2.13": "no-compile",
        "keras-2.14": "no-compile",
        "tf-keras-2.16": "no-compile",
    }


def test_keras_29s_own_mixed_precision_model_passes() -> None:
    report = static_check(MIXED / "keras-2.9" / "mixed_precision.h5")
    assert report.static_load == "compile", [c.message for c in report.checks]
    assert report.verdict == "pass"


@pytest.mark.parametrize("rel", NEW_STYLE)
def test_a_wrapped_new_style_optimizer_fails_as_tf29_fails_it(rel: str) -> None:
    label = MIXED_LABELS[rel]
    report = static_check(MIXED / rel)
    assert report.verdict == "fail"
    assert report.static_load == label["loads"]
    compile_failures = [
        c for c in report.checks if c.id == "static.training_config" and c.status == "fail"
    ]
    # TF 2.9 stops at the inner optimizer's first unknown argument: the first finding names it.
    argument = rejected_argument(label["error"])
    assert f"wrapping an optimizer (Adam): argument `{argument}` is not accepted" in (
        compile_failures[0].message
    )
    assert "LossScaleOptimizer" in compile_failures[0].message


@pytest.mark.runtime
def test_the_real_tf29_agrees_with_the_committed_labels(exam_python: Path) -> None:
    relabelled = fixture_builder().run_labeller(exam_python, fresh=False, root=MIXED)
    assert sorted(relabelled) == sorted(MIXED_LABELS)
    for rel, label in MIXED_LABELS.items():
        assert relabelled[rel]["loads"] == label["loads"], rel
        if label["error"]:  # the allowed-kwargs set prints in hash order: compare the argument
            assert rejected_argument(relabelled[rel]["error"]) == rejected_argument(label["error"])


@pytest.mark.runtime
def test_runtime_and_static_verdicts_agree_on_mixed_precision(exam_python: Path) -> None:
    report = verify_paths([MIXED], exam_python=exam_python)
    assert len(report.models) == len(MIXED_LABELS)
    for model in report.models:
        expected = MIXED_LABELS[f"{model.path.parent.name}/{model.path.name}"]["loads"]
        assert model.runtime_load == model.static_load == expected, model.path


# ------------------------------------------------------------ useless models


def poisoned_copy(source: Path, target: Path, layer_index: int) -> str:
    """Copy `source` with every weight of one layer set to NaN; return that layer's name."""
    shutil.copy(source, target)
    with h5py.File(target, "r+") as handle:
        group = handle["model_weights"]
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs["layer_names"]]
        with_weights = [name for name in names if len(group[name].attrs["weight_names"])]
        layer = with_weights[layer_index]
        for weight in group[layer].attrs["weight_names"]:
            dataset = group[layer][weight.decode() if isinstance(weight, bytes) else weight]
            dataset[...] = np.full(dataset.shape, np.nan, dtype=dataset.dtype)
    return layer


@pytest.mark.runtime
def test_a_model_predicting_nan_fails_naming_the_layer(exam_python: Path, tmp_path: Path) -> None:
    source = MODELS / "keras-2.9" / "cnn_classifier.h5"
    layer = poisoned_copy(source, tmp_path / "nan.h5", layer_index=-1)
    report = verify_model(tmp_path / "nan.h5", exam_python=exam_python)
    assert report.static_load == report.runtime_load == "compile"
    predict = [c for c in report.checks if c.id == "runtime.predict"]
    assert report.verdict == "fail" and predict and predict[0].status == "fail"
    assert "predicts NaN or Inf" in predict[0].message
    assert f"layer '{layer}'" in predict[0].message
    healthy = verify_model(source, exam_python=exam_python)
    assert not any(c.id == "runtime.predict" for c in healthy.checks)


# ------------------------------------------------------------ who wrote the file


@pytest.mark.parametrize("written", ["2.2.4-tf", "2.3.0-tf"])
def test_keras_versions_tf_itself_wrote_are_named(tmp_path: Path, written: str) -> None:
    model = Path(shutil.copy(GOOD, tmp_path / "old.h5"))
    with h5py.File(model, "r+") as handle:
        handle.attrs["keras_version"] = written
    report = static_check(model)
    load = report.checks[0]
    assert f"saved by tf.keras {written} (the Keras built into an older TensorFlow)" in (
        load.message
    )
    assert "unknown Keras version" not in load.message
