"""Keras 3 call records -> Keras 2.9 node data, on node JSON as Keras 3.15 writes it."""

from __future__ import annotations

from typing import Any

from tfbridge.convert.nodes import keras3_node_to_legacy, wrap_single_endpoint


def tensor(layer: str, node: int = 0, index: int = 0) -> dict[str, Any]:
    return {
        "class_name": "__keras_tensor__",
        "config": {"shape": [None, 4], "dtype": "float32", "keras_history": [layer, node, index]},
    }


def test_merge_layer_call_lists_every_input() -> None:
    node = {"args": [[tensor("shared", 0), tensor("shared", 1)]], "kwargs": {}}
    assert keras3_node_to_legacy(node, set()) == (
        [["shared", 0, 0, {}], ["shared", 1, 0, {}]],
        None,
    )


def test_default_mask_is_left_out_and_nested_models_count_from_one() -> None:
    # Keras 3 writes `mask: None` for BatchNormalization and nested models; 2.9's
    # BatchNormalization.call has no `mask`, and 2.9 numbers a nested model's calls from 1.
    node = {"args": [tensor("inner")], "kwargs": {"mask": None, "training": False}}
    assert keras3_node_to_legacy(node, {"inner"}) == ([["inner", 1, 0, {"training": False}]], None)


def test_tensor_in_kwargs_becomes_node_reference() -> None:
    node = {"args": [tensor("query")], "kwargs": {"value": tensor("value", 0, 1)}}
    legacy, problem = keras3_node_to_legacy(node, set())
    assert problem is None and legacy == [["query", 0, 0, {"value": ["value", 0, 1]}]]


def test_several_positional_inputs_are_reported() -> None:
    legacy, problem = keras3_node_to_legacy({"args": [tensor("a"), tensor("b")]}, set())
    assert legacy == [] and problem is not None and "2 positional inputs" in problem


def test_lone_endpoint_is_wrapped_and_lists_are_kept() -> None:
    assert wrap_single_endpoint(["dense", 0, 0]) == [["dense", 0, 0]]
    both = [["a", 0, 0], ["b", 0, 0]]
    assert wrap_single_endpoint(both) is both
