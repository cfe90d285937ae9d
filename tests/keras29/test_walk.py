"""The one walk over saved configs (tfbridge.keras29.walk), with verify's reporting visitors and
convert's transforming visitors: where it goes, what it builds, and hostile depth and shapes."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import h5py
import pytest

from tests.verify.conftest import MODELS
from tfbridge.convert.layers import ConfigRewriter
from tfbridge.convert.report import Notes
from tfbridge.convert.semantics_gate import SemanticsGate
from tfbridge.convert.training import TrainingConfigRewriter
from tfbridge.keras29.config_shape import ConfigShapeError, check_model_config
from tfbridge.keras29.knowledge import load_knowledge
from tfbridge.keras29.rules import load_rules
from tfbridge.keras29.visitor import Place, Visitor
from tfbridge.keras29.walk import MAX_WALK_DEPTH, Walk
from tfbridge.verify.findings import Finding, Problems, Writer
from tfbridge.verify.model_config import ModelConfigEmulator
from tfbridge.verify.static import static_check
from tfbridge.verify.training_config import TrainingConfigEmulator

FAR_TOO_DEEP = 5_000
TOO_DEEP_TEXT = f"nested more than {MAX_WALK_DEPTH} levels deep"


def dense(name: str = "dense", **config: Any) -> dict[str, Any]:
    return {"class_name": "Dense", "config": {"name": name, "units": 1, **config}}


def nested_sequentials(depth: int) -> dict[str, Any]:
    layer = dense()
    for level in range(depth):
        layer = {"class_name": "Sequential", "config": {"name": f"s{level}", "layers": [layer]}}
    return layer


def nested_wrappers(depth: int) -> dict[str, Any]:
    layer = dense()
    for level in range(depth):
        layer = {"class_name": "TimeDistributed", "config": {"name": f"t{level}", "layer": layer}}
    return {"class_name": "Sequential", "config": {"name": "model", "layers": [layer]}}


def nested_loss_scale_optimizers(depth: int, inner: dict[str, Any]) -> dict[str, Any]:
    optimizer = inner
    for _ in range(depth):
        optimizer = {
            "class_name": "LossScaleOptimizer",
            "config": {"inner_optimizer": optimizer, "dynamic": True},
        }
    return optimizer


def adam(**config: Any) -> dict[str, Any]:
    return {"class_name": "Adam", "config": {"name": "Adam", "learning_rate": 0.001, **config}}


def training(optimizer: Any = None, **config: Any) -> dict[str, Any]:
    return {"optimizer_config": optimizer or adam(), "loss_weights": None, **config}


def verify_model(config: Any) -> tuple[Any, list[Finding]]:
    problems = Problems()
    emulator = ModelConfigEmulator(load_knowledge(), Writer("2.9.0"), problems)
    return Walk(emulator).model(config), problems.findings()


def verify_training(config: Any, keras_version: str = "2.9.0") -> tuple[Any, list[Finding]]:
    problems = Problems()
    emulator = TrainingConfigEmulator(load_knowledge(), Writer(keras_version), problems)
    return Walk(emulator).training(config), problems.findings()


def convert_model(config: Any, keras_version: str = "3.6.0") -> tuple[Any, Notes]:
    notes = Notes()
    rewriter = ConfigRewriter(load_rules(), notes, SemanticsGate(keras_version, notes))
    return Walk(rewriter).model(config), notes


def convert_training(config: Any, keras_version: str = "3.6.0") -> tuple[Any, Notes]:
    notes = Notes()
    rewriter = TrainingConfigRewriter(load_rules(), notes, SemanticsGate(keras_version, notes))
    return Walk(rewriter).training(config), notes


def too_deep(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if TOO_DEEP_TEXT in finding.message]


# ------------------------------------------------------------ hostile depth: one line, no recursion


@pytest.mark.parametrize("build", [nested_sequentials, nested_wrappers])
def test_layers_nested_thousands_deep_are_one_finding(build: Any) -> None:
    config = build(FAR_TOO_DEEP)
    walked, findings = verify_model(config)
    assert walked == config
    (finding,) = too_deep(findings)
    assert finding.stage == "model" and finding.severity == "fail"
    _, notes = convert_model(config)
    assert [reason for reason in notes.refusals if TOO_DEEP_TEXT in reason] != []
    assert len(notes.refusals) == 1, notes.refusals


def test_optimizers_wrapped_thousands_deep_are_one_finding() -> None:
    config = training(nested_loss_scale_optimizers(FAR_TOO_DEEP, adam()))
    _, findings = verify_training(config)
    (finding,) = too_deep(findings)
    assert finding.stage == "compile"
    _, notes = convert_training(config)
    assert len([reason for reason in notes.refusals if TOO_DEEP_TEXT in reason]) == 1


def test_losses_nested_thousands_of_lists_deep_are_one_finding() -> None:
    loss: Any = "mse"
    for _ in range(FAR_TOO_DEEP):
        loss = [loss]
    _, findings = verify_training(training(loss=loss))
    (finding,) = too_deep(findings)
    assert finding.stage == "compile"
    _, notes = convert_training(training(loss=loss))
    assert len([reason for reason in notes.refusals if TOO_DEEP_TEXT in reason]) == 1


def test_a_real_file_with_models_nested_hundreds_deep_is_a_finding_not_an_error(
    tmp_path: Path,
) -> None:
    """Parseable JSON (750 levels) with 250 nested models: static verify names the depth."""
    target = tmp_path / "deep.h5"
    shutil.copy(MODELS / "keras-2.9" / "dense_regression.h5", target)
    with h5py.File(target, "r+") as handle:
        handle.attrs["model_config"] = json.dumps(nested_sequentials(250))
    report = static_check(target)
    assert report.verdict == "fail" and report.static_load == "never"
    assert "static.error" not in [check.id for check in report.checks]
    assert any(TOO_DEEP_TEXT in check.message for check in report.checks)


# ------------------------------------------------------------ hostile shapes: values of any type

ODD_MODEL_CONFIGS: list[Any] = [
    {"class_name": "Sequential", "config": {"name": "m", "layers": [7, "x", None, [], {}]}},
    {"class_name": "Sequential", "config": "not a config"},
    {"class_name": "Sequential", "config": [dense(), 3]},
    {"class_name": "Functional", "config": {"name": "m", "layers": {"not": "a list"}}},
    {
        "class_name": "Functional",
        "config": {
            "name": "m",
            "layers": [
                {**dense(), "inbound_nodes": "x"},
                {**dense("d2"), "inbound_nodes": [7]},
                {"inbound_nodes": [{"args": 3}]},
                {"class_name": "Functional", "config": None, "inbound_nodes": None},
            ],
            "input_layers": 5,
            "output_layers": None,
        },
    },
    {
        "class_name": "Sequential",
        "config": {
            "name": "m",
            "layers": [
                {"class_name": "TimeDistributed", "config": {"name": "t", "layer": 5}},
                {"class_name": "RNN", "config": {"name": "r", "cell": [], "cells": "abc"}},
                {"class_name": "RNN", "config": {"name": "r2", "cells": [1, {"config": {}}]}},
                dense(kernel_initializer=[1, 2], activation={"class_name": 3}, dtype=[None]),
                dense("d3", bias_regularizer={"class_name": "L2", "config": "x"}),
            ],
        },
    },
    {"class_name": 12, "config": None},
]


@pytest.mark.parametrize("config", ODD_MODEL_CONFIGS)
def test_odd_model_configs_walk_without_crashing(config: Any) -> None:
    original = copy.deepcopy(config)
    assert Walk(Visitor()).model(config) == original
    walked, findings = verify_model(config)
    assert walked == config == original, "a reporting walk hands back the tree it was given"
    assert any(finding.severity == "fail" for finding in findings)
    with pytest.raises(ConfigShapeError):
        check_model_config(config)  # convert refuses these in one line before it walks


ODD_TRAINING_CONFIGS: list[Any] = [
    ["not", "an", "object"],
    training(optimizer=["odd"], loss=3.5, metrics=[[{"class_name": 1}]]),
    training(optimizer={"class_name": "Adam", "config": "x"}),
    training(optimizer=adam(learning_rate=[1], inner_optimizer=3)),
    training(optimizer=nested_loss_scale_optimizers(1, {"class_name": None})),
    training(metrics={"out": [{"class_name": "MeanMetricWrapper", "config": {"fn": 5}}]}),
    training(weighted_metrics=[[], 7, {"class_name": "MeanMetricWrapper", "config": []}]),
]


@pytest.mark.parametrize("config", ODD_TRAINING_CONFIGS)
def test_odd_training_configs_walk_without_crashing(config: Any) -> None:
    original = copy.deepcopy(config)
    assert Walk(Visitor()).training(config) == original
    walked, _ = verify_training(config)
    assert walked == config == original
    convert_training(config)
    assert config == original, "a transforming walk builds a new tree, never edits its input"


# ------------------------------------------------------------ where the walk goes


def functional_with_everything() -> dict[str, Any]:
    """A functional model holding a wrapper around a recurrent layer and a nested Sequential."""
    lstm = {
        "class_name": "LSTM",
        "config": {"name": "lstm", "units": 2, "activation": "tanh", "kernel_initializer": "ones"},
    }
    inner = {
        "class_name": "Sequential",
        "name": "inner",
        "config": {"name": "inner", "layers": [dense("inner_dense", activation="relu")]},
        "inbound_nodes": [[["bidi", 0, 0, {}]]],
    }
    return {
        "class_name": "Functional",
        "config": {
            "name": "model",
            "layers": [
                {
                    "class_name": "InputLayer",
                    "name": "x",
                    "config": {"name": "x", "batch_input_shape": [None, 3, 2]},
                    "inbound_nodes": [],
                },
                {
                    "class_name": "Bidirectional",
                    "name": "bidi",
                    "config": {"name": "bidi", "layer": lstm},
                    "inbound_nodes": [[["x", 0, 0, {}]]],
                },
                inner,
            ],
            "input_layers": [["x", 0, 0]],
            "output_layers": [["inner", 1, 0]],
        },
    }


class ActivationRenamer(Visitor):
    """A transforming visitor: every activation named `relu` becomes `relu6`."""

    def argument(self, value: Any, place: Place) -> Any:
        return "relu6" if place.category == "activation" and value == "relu" else value


def test_a_transforming_visitor_rewrites_at_any_depth_and_leaves_the_input_alone() -> None:
    config = functional_with_everything()
    original = copy.deepcopy(config)
    walk = Walk(ActivationRenamer())
    walked = walk.model(config)
    assert config == original
    inner = walked["config"]["layers"][2]["config"]["layers"][0]
    assert inner["config"]["activation"] == "relu6"
    assert walked["config"]["layers"][1]["config"]["layer"]["config"]["activation"] == "tanh"
    paths = [place.path for place in walk.places]
    assert "model_config.config.layers[1].config.layer.config.kernel_initializer" in paths
    assert "model_config.config.layers[2].inbound_nodes" in paths
    nodes = next(place for place in walk.places if place.kind == "nodes" and place.name == "bidi")
    assert nodes.nested_models == frozenset({"inner"})


def test_every_place_says_where_it_is_for_people() -> None:
    walk = Walk(Visitor())
    walk.model(functional_with_everything())
    wheres = {place.where for place in walk.places}
    assert "layer 'lstm' (LSTM) `kernel_initializer`" in wheres
    assert "layer 'inner_dense' (Dense)" in wheres


def test_a_weight_decay_two_loss_scale_optimizers_deep_is_found() -> None:
    """The false pass of issue 10: a mixed-precision optimizer wrapping a new-style one."""
    wrapped = nested_loss_scale_optimizers(2, adam(weight_decay=0.004))
    _, findings = verify_training(training(wrapped), keras_version="2.14.0")
    messages = [finding.message for finding in findings if finding.severity == "fail"]
    assert any(
        "optimizer (LossScaleOptimizer) wrapping an optimizer (LossScaleOptimizer) wrapping an "
        "optimizer (Adam)"
        in message
        and "`weight_decay`" in message
        for message in messages
    ), messages


def test_a_mean_metric_wrappers_function_is_walked_after_the_metric() -> None:
    metric = {"class_name": "MeanMetricWrapper", "config": {"name": "m", "fn": "no_such_fn"}}
    walk = Walk(Visitor())
    walk.training(training(metrics=[metric]))
    kinds = [place.kind for place in walk.places]
    assert kinds[-2:] == ["metric", "metric_fn"]
    _, findings = verify_training(training(metrics=[metric]))
    assert any("`no_such_fn` is unknown" in finding.message for finding in findings)
