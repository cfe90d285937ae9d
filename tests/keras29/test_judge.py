"""`judge`: the table's verdict on one saved built-in, as convert consults it."""

from __future__ import annotations

from tfbridge.keras29.semantics import judge, probed_lines, saver_line, tf_nn_name_in_29


def test_rename_and_default_drop_are_done_and_named() -> None:
    verdict = judge("keras-3.15", "layer", "LeakyReLU", {"name": "l", "negative_slope": 0.2})
    assert verdict is not None and verdict.refusal is None
    assert verdict.config == {"name": "l", "alpha": 0.2}
    assert dict(verdict.renamed) == {"negative_slope": "alpha"}

    verdict = judge("keras-3.15", "layer", "ZeroPadding1D", {"data_format": "channels_last"})
    assert verdict is not None and verdict.config == {}
    assert dict(verdict.dropped) == {"data_format": "channels_last"}


def test_new_argument_off_its_default_stays_and_is_named() -> None:
    verdict = judge("2.15", "layer", "Normalization", {"axis": -1, "invert": True})
    assert verdict is not None and verdict.refusal is None
    assert verdict.config == {"axis": -1, "invert": True}
    assert dict(verdict.not_default) == {"invert": False}


def test_changed_computation_is_a_refusal_naming_the_difference() -> None:
    verdict = judge("keras-3.15", "layer", "RandomCrop", {"height": 8, "width": 8})
    assert verdict is not None and verdict.refusal is not None
    assert "outputs differ from 2.9's" in verdict.refusal.reason
    activation = judge("keras-3.6", "activation", "hard_sigmoid", {})
    assert activation is not None and activation.change.computation_changed


def test_layer_activations_are_left_to_the_caller_when_asked() -> None:
    config = {"units": 2, "activation": "hard_sigmoid"}
    refused = judge("keras-3.15", "layer", "Dense", config)
    assert refused is not None and refused.refusal is not None
    left = judge("keras-3.15", "layer", "Dense", config, activations=False)
    assert left is not None and left.refusal is None


def test_no_word_from_the_table_is_none() -> None:
    assert judge("2.99", "layer", "Dense", {}) is None
    assert judge("keras-3.15", "layer", "GroupNormalization", {}) is None
    assert judge("keras-3.15", "dtype_policy", "DTypePolicy", {}) is None


def test_a_file_without_a_keras_version_is_held_to_the_newest_keras3_line() -> None:
    newest = max(
        (line for line in probed_lines() if line.startswith("keras-3.")),
        key=lambda line: int(line.split(".")[1]),
    )
    assert saver_line(None) == newest
    assert saver_line("2.9.0") is None
    assert saver_line("2.2.4-tf") is None
    assert saver_line("2.13.1") == "2.13"


def test_tf_nn_functions_get_2_9s_names() -> None:
    assert tf_nn_name_in_29("softmax_v2", "keras-3.15") == "softmax"
    assert tf_nn_name_in_29("relu", "keras-3.15") is None
    assert tf_nn_name_in_29("softmax_v2", "2.10") is None
