"""Which Keras 3.6 `Cast` layers convert leaves out: only those Keras 2.9's autocast repeats.

Starts from the real Keras 3.6 mixed_float16 fixture's config and changes one thing at a time.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import h5py

from tests.conftest import FIXTURES
from tfbridge.convert.autocast import drop_autocast_layers
from tfbridge.convert.report import Notes
from tfbridge.keras29.rules import load_rules

SOURCE = FIXTURES / "semantics" / "keras-3.6" / "mixed_float16.h5"


def saved_config() -> Any:
    with h5py.File(SOURCE, "r") as handle:
        return json.loads(handle.attrs["model_config"])


def kept_layers(config: Any) -> list[str]:
    notes = Notes()
    out = drop_autocast_layers(config, load_rules(), notes)
    return [layer["name"] for layer in out["config"]["layers"]]


def layer(config: Any, name: str) -> Any:
    return next(item for item in config["config"]["layers"] if item["name"] == name)


def test_both_casts_of_the_saved_model_are_autocast() -> None:
    config = saved_config()
    before = copy.deepcopy(config)
    notes = Notes()
    out = drop_autocast_layers(config, load_rules(), notes)
    assert [item["name"] for item in out["config"]["layers"]] == ["input_layer", "dense", "dense_1"]
    assert config == before, "the input config must not be modified"
    dense_input = layer(out, "dense")["inbound_nodes"][0]["args"][0]["config"]["keras_history"]
    assert dense_input == ["input_layer", 0, 0]
    assert layer(out, "dense_1")["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0] == (
        "dense"
    )


def test_a_cast_to_another_dtype_than_its_consumer_computes_in_stays() -> None:
    config = saved_config()
    layer(config, "dense")["config"]["dtype"]["config"]["name"] = "float32"
    assert "cast" in kept_layers(config) and "cast_1" not in kept_layers(config)


def test_a_cast_to_an_integer_dtype_stays() -> None:
    config = saved_config()
    layer(config, "cast")["config"]["dtype"] = "int32"
    assert "cast" in kept_layers(config)


def test_a_cast_that_is_a_model_output_stays() -> None:
    config = saved_config()
    config["config"]["output_layers"] = [["cast_1", 0, 0]]
    assert "cast_1" in kept_layers(config)


def test_a_cast_passed_by_name_stays() -> None:
    config = saved_config()
    node = layer(config, "dense_1")["inbound_nodes"][0]
    node["kwargs"] = {"other": node["args"][0]}
    assert "cast_1" in kept_layers(config)


def test_a_consumer_that_does_not_autocast_keeps_its_cast() -> None:
    config = saved_config()
    layer(config, "dense_1")["config"]["autocast"] = False
    assert "cast_1" in kept_layers(config)
