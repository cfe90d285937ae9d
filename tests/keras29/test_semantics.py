"""The Keras semantics table: re-probed for drift, and the known facts read through the API."""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from tfbridge.keras29 import semantics
from tfbridge.keras29.semantics import Refusal, exact_rewrite, keras_line, lookup

SEMANTICS_SCRIPTS = Path(__file__).resolve().parents[2] / "scripts" / "semantics"
TABLE = json.loads(semantics.SEMANTICS_FILE.read_text())
KERAS3_LINES = sorted(line for line in TABLE["lines"] if line.startswith("keras-3."))
KERAS2_LINES = sorted(line for line in TABLE["lines"] if not line.startswith("keras-3."))


@pytest.fixture(scope="module")
def runtimes() -> Iterator[ModuleType]:
    """scripts/semantics/runtimes.py, the code that wrote the table (with compare.py)."""
    sys.path.insert(0, str(SEMANTICS_SCRIPTS))
    try:
        import runtimes
    finally:
        sys.path.remove(str(SEMANTICS_SCRIPTS))
    yield runtimes


def _differences(committed: Any, fresh: Any, path: str = "") -> list[str]:
    """Readable paths where two JSON values differ (the first few)."""
    if isinstance(committed, dict) and isinstance(fresh, dict):
        found: list[str] = []
        for key in sorted(set(committed) | set(fresh)):
            if key not in fresh or key not in committed:
                found.append(f"{path}/{key}: only in {'table' if key in committed else 'probe'}")
            else:
                found += _differences(committed[key], fresh[key], f"{path}/{key}")
        return found
    return [] if committed == fresh else [f"{path}: table {committed!r}, probe {fresh!r}"]


@pytest.mark.runtime
def test_table_matches_a_fresh_probe_of_every_runtime_on_this_machine(
    exam_python: Path, runtimes: ModuleType
) -> None:
    base = runtimes.run_probe(exam_python, None)
    present = runtimes.built_runtimes()
    lines = {runtime.line: runtimes.run_probe(runtime.interpreter, runtime) for runtime in present}
    fresh = runtimes.make_table(exam_python, base, lines)

    drift = _differences(TABLE["keras29"], fresh["keras29"], "/keras29")
    for line in lines:
        drift += _differences(TABLE["lines"].get(line), fresh["lines"][line], f"/lines/{line}")
    regenerate = "regenerate with: python scripts/semantics/build.py (nox -s semantics)"
    assert not drift, f"{len(drift)} drifted: " + "; ".join(drift[:15]) + f". {regenerate}"

    absent = sorted(set(TABLE["lines"]) - set(lines))
    if absent:
        warnings.warn(
            f"not re-probed (runtime absent; only the 2.9 side was checked): {', '.join(absent)}",
            stacklevel=1,
        )
    assert set(lines) | set(absent) == set(TABLE["lines"])


def _probe_inputs() -> np.ndarray:
    """The activation probe's inputs (scripts/semantics/probe.py: activation_probe)."""
    return np.linspace(-6.0, 6.0, 26).astype("float32").astype("float64")


@pytest.mark.parametrize("line", KERAS3_LINES)
def test_keras3_hard_sigmoid_is_relu6_not_clipped_linear(line: str) -> None:
    x = _probe_inputs()
    keras3 = np.minimum(np.maximum(x + 3.0, 0.0), 6.0) / 6.0
    keras29 = np.clip(0.2 * x + 0.5, 0.0, 1.0)
    change = lookup(line, "activation", "hard_sigmoid")
    assert change is not None and change.computation_changed
    assert change.max_abs_difference == pytest.approx(np.abs(keras3 - keras29).max(), rel=1e-2)
    refusal = exact_rewrite(line, "layer", "Dense", {"units": 4, "activation": "hard_sigmoid"})
    assert isinstance(refusal, Refusal)
    assert "hard_sigmoid" in refusal.reason and refusal.name == "Dense"


@pytest.mark.parametrize("line", KERAS2_LINES)
def test_keras2_lines_keep_hard_sigmoid(line: str) -> None:
    change = lookup(line, "activation", "hard_sigmoid")
    assert change is not None and not change.computation_changed
    dense = {"units": 4, "activation": "hard_sigmoid"}
    assert exact_rewrite(line, "layer", "Dense", dense) == dense


@pytest.mark.parametrize("line", KERAS3_LINES)
def test_keras3_random_crop_at_inference_is_refused(line: str) -> None:
    change = lookup(line, "layer", "RandomCrop")
    assert change is not None and change.computation_changed
    assert "default" in change.changed_probes
    refusal = exact_rewrite(line, "layer", "RandomCrop", {"height": 3, "width": 4})
    assert isinstance(refusal, Refusal) and "RandomCrop" in str(refusal)


@pytest.mark.parametrize("line", KERAS3_LINES)
def test_keras3_discretization_count_as_measured(line: str) -> None:
    """FACTS.md says Keras 3's Discretization(output_mode="count") gives other outputs; on the
    probe's inputs (rank 2, boundaries [-0.5, 0, 0.5]) Keras 3.6 and 3.15 agree with 2.9. The
    table says what was measured: the count probe ran in both and matched."""
    change = lookup(line, "layer", "Discretization")
    assert change is not None and change.not_compared is None
    assert "output_mode=count" not in change.changed_probes
    config = {"bin_boundaries": [0.0, 1.0], "output_mode": "count", "dtype": "float32"}
    rewritten = exact_rewrite(line, "layer", "Discretization", config)
    assert isinstance(rewritten, dict) and rewritten["output_mode"] == "count"


@pytest.mark.parametrize("line", KERAS3_LINES)
def test_keras3_leaky_relu_negative_slope_is_alpha(line: str) -> None:
    change = lookup(line, "layer", "LeakyReLU")
    assert change is not None and dict(change.renamed) == {"negative_slope": "alpha"}
    rewritten = exact_rewrite(line, "layer", "LeakyReLU", {"negative_slope": 0.2, "name": "act"})
    assert rewritten == {"alpha": 0.2, "name": "act"}


@pytest.mark.parametrize(
    ("line", "name", "argument", "default", "other"),
    [
        *(
            (line, "ZeroPadding1D", "data_format", "channels_last", "channels_first")
            for line in KERAS3_LINES
        ),
        *((line, "Resizing", "pad_to_aspect_ratio", False, True) for line in KERAS3_LINES),
        ("keras-3.15", "MultiHeadAttention", "use_gate", False, True),
        ("keras-3.15", "StringLookup", "oov_method", "floormod", "farmhash"),
        ("keras-3.15", "IntegerLookup", "oov_method", "floormod", "farmhash"),
        ("2.15", "Normalization", "invert", False, True),
    ],
)
def test_new_argument_dropped_at_its_default_refused_otherwise(
    line: str, name: str, argument: str, default: Any, other: Any
) -> None:
    change = lookup(line, "layer", name)
    assert change is not None and change.added[argument] == default
    stated = {arg: pair[1] for arg, pair in change.redefaulted.items()}  # as a saved config is
    rewritten = exact_rewrite(line, "layer", name, {**stated, argument: default, "trainable": True})
    assert rewritten == {**stated, "trainable": True}
    refusal = exact_rewrite(line, "layer", name, {**stated, argument: other})
    assert isinstance(refusal, Refusal) and argument in refusal.reason and refusal.name == name


def test_omitted_argument_whose_default_changed_is_refused() -> None:
    change = lookup("keras-3.15", "layer", "ConvLSTM2D")
    assert change is not None
    assert change.redefaulted["recurrent_activation"] == ("hard_sigmoid", "sigmoid")
    refusal = exact_rewrite("keras-3.15", "layer", "ConvLSTM2D", {"filters": 2})
    assert isinstance(refusal, Refusal) and "recurrent_activation" in refusal.reason
    stated = {"filters": 2, "recurrent_activation": "sigmoid"}
    assert exact_rewrite("keras-3.15", "layer", "ConvLSTM2D", stated) == stated


def test_normalization_invert_is_new_in_2_13() -> None:
    """FACTS.md meets `invert` in 2.15's files; the probes place its arrival at 2.13."""
    for line, has_invert in (("2.10", False), ("2.12", False), ("2.13", True), ("2.15", True)):
        change = lookup(line, "layer", "Normalization")
        assert change is not None and ("invert" in change.added) == has_invert


@pytest.mark.parametrize("line", KERAS3_LINES)
def test_keras3_writes_tf_nn_softmax_as_softmax_v2(line: str) -> None:
    written = semantics.tf_nn_activations(line)
    assert written["softmax"] == {"class_name": "function", "config": "softmax_v2"}


@pytest.mark.parametrize(
    ("version", "line"),
    [
        ("2.9.0", None),
        ("2.4.0", None),
        ("2.13.1", "2.13"),
        ("2.15.0", "2.15"),
        ("2.17.0", "tf-keras"),
        ("3.15.1", "keras-3.15"),
        ("3.10.0", "keras-3.6"),
        ("3.3.3", "keras-3.6"),
        ("not a version", None),
    ],
)
def test_keras_line_of_a_saver_version(version: str, line: str | None) -> None:
    assert keras_line(version) == line


def test_unprobed_line_and_unknown_names_are_refused() -> None:
    assert isinstance(exact_rewrite("2.99", "layer", "Dense", {}), Refusal)
    refusal = exact_rewrite("keras-3.15", "layer", "GroupNormalization", {})
    assert isinstance(refusal, Refusal) and "2.9 has no" in refusal.reason
    assert lookup("keras-3.15", "layer", "NoSuchLayer") is None


def test_rewrite_leaves_its_input_alone() -> None:
    config = {"negative_slope": 0.2}
    exact_rewrite("keras-3.15", "layer", "LeakyReLU", config)
    assert config == {"negative_slope": 0.2}


def test_structural_layers_pass_unprobed_ones_are_refused() -> None:
    lambda_config = {"function": ["code", None, None], "function_type": "lambda"}
    assert exact_rewrite("2.15", "layer", "Lambda", lambda_config) == lambda_config
    change = lookup("keras-3.15", "layer", "TextVectorization")
    assert change is not None and change.not_compared and not change.structural
    refusal = exact_rewrite("keras-3.15", "layer", "TextVectorization", {})
    assert isinstance(refusal, Refusal) and "could not be compared" in refusal.reason
