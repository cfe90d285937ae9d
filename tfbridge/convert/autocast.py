"""Keras 3.6 writes the cast a layer does to its own input as a separate `Cast` layer.

A mixed_float16 functional model saved by Keras 3.6 holds `input -> Cast(float16) -> Dense(policy
mixed_float16) -> Cast(float32) -> Dense(float32)`. Keras 2.9 has no `Cast` layer, and needs none:
its layers cast a floating first input to their compute dtype themselves (autocast). So a Cast
is left out, its consumers reading its input instead, exactly when 2.9's autocast does that same
cast: a floating input cast to a floating dtype, no kwargs, not a model output, and every consumer
a layer (not a model) that takes it as its first input, autocasts, and computes in that dtype.
Any other Cast stays, and is refused by name as a layer Keras 2.9 lacks.
"""

from __future__ import annotations

from typing import Any

from tfbridge.convert.functional import rewrite_layer_lists
from tfbridge.convert.report import Notes
from tfbridge.keras29.precision import POLICY_COMPUTE_DTYPE
from tfbridge.keras29.rules import Rules
from tfbridge.keras29.walker import KERAS_TENSOR, MODEL_CLASSES

Json = dict[str, Any]
FLOAT_DTYPES = frozenset({"float16", "bfloat16", "float32", "float64"})


def drop_autocast_layers(model_config: Any, rules: Rules, notes: Notes) -> Any:
    """`model_config` without the cast layers Keras 2.9's autocast makes redundant, in every
    functional model at any depth (a copy where anything changed; the input is not modified)."""

    def drop(layers: list[Any], model: Json) -> list[Any]:
        for cast in [layer for layer in layers if _is_cast(layer, rules)]:
            consumers = [layer for layer in layers if _reads_from(layer, cast["name"])]
            why = _redundant(cast, consumers, model)
            if why:
                layers = [_rewired(layer, cast) for layer in layers if layer is not cast]
                notes.change(f"layer `{cast['name']}` ({cast['class_name']}) left out: {why}")
        return layers

    return rewrite_layer_lists(model_config, drop)


def _is_cast(layer: Any, rules: Rules) -> bool:
    return (
        isinstance(layer, dict)
        and layer.get("class_name") in rules.autocast_layer_classes
        and isinstance(layer.get("name"), str)
    )


def _redundant(cast: Json, consumers: list[Json], model: Json) -> str | None:
    """Why Keras 2.9's autocast does this cast itself, or None when it does not."""
    source = _only_input(cast)
    target = cast.get("config", {}).get("dtype") if isinstance(cast.get("config"), dict) else None
    if source is None or target not in FLOAT_DTYPES or not consumers:
        return None
    if source["config"].get("dtype") not in FLOAT_DTYPES:
        return None
    if _names_layer(model.get("output_layers"), cast["name"]):
        return None
    for consumer in consumers:
        if not _autocasts_first_input_to(consumer, cast, target):
            return None
    names = ", ".join(f"`{consumer['name']}`" for consumer in consumers)
    return f"Keras 2.9's {names} casts its input to {target} itself"


def _only_input(cast: Json) -> Json | None:
    """The one tensor a Cast is called on, with no kwargs, or None."""
    nodes = cast.get("inbound_nodes")
    if not isinstance(nodes, list) or len(nodes) != 1 or not isinstance(nodes[0], dict):
        return None
    args, kwargs = nodes[0].get("args"), nodes[0].get("kwargs")
    if kwargs or not isinstance(args, list) or len(args) != 1 or not _is_tensor(args[0]):
        return None
    tensor: Json = args[0]
    return tensor


def _autocasts_first_input_to(consumer: Json, cast: Json, target: str) -> bool:
    cast_name = cast["name"]
    config = consumer.get("config")
    if consumer.get("class_name") in MODEL_CLASSES or not isinstance(config, dict):
        return False
    if _mentions(config, cast_name) or consumer.get("class_name") == cast["class_name"]:
        return False
    if config.get("autocast", True) is not True or _compute_dtype(config.get("dtype")) != target:
        return False
    for node in consumer.get("inbound_nodes") or []:
        if not isinstance(node, dict):
            return False
        args = node.get("args") or []
        rest = [args[1:], node.get("kwargs") or {}]
        if _mentions(rest, cast_name):  # 2.9 casts only the first positional input
            return False
    return True


def _compute_dtype(dtype: Any) -> str | None:
    if isinstance(dtype, dict):
        config = dtype.get("config")
        dtype = config.get("name") if isinstance(config, dict) else None
    if not isinstance(dtype, str):
        return None
    return POLICY_COMPUTE_DTYPE.get(dtype, dtype)


def _reads_from(layer: Any, name: str) -> bool:
    return isinstance(layer, dict) and _mentions(layer.get("inbound_nodes"), name)


def _mentions(value: Any, name: str) -> bool:
    if _is_tensor(value):
        return bool(_history(value)[0] == name)
    if isinstance(value, list):
        return any(_mentions(item, name) for item in value)
    if isinstance(value, dict):
        return any(_mentions(item, name) for item in value.values())
    return False


def _rewired(layer: Any, cast: Json) -> Any:
    """`layer` reading the cast's input wherever it read the cast's output."""
    if not _reads_from(layer, cast["name"]):
        return layer
    source = _only_input(cast)
    return {**layer, "inbound_nodes": _replace(layer["inbound_nodes"], cast["name"], source)}


def _replace(value: Any, name: str, source: Any) -> Any:
    if _is_tensor(value):
        return source if _history(value)[0] == name else value
    if isinstance(value, list):
        return [_replace(item, name, source) for item in value]
    if isinstance(value, dict):
        return {key: _replace(item, name, source) for key, item in value.items()}
    return value


def _is_tensor(value: Any) -> bool:
    if not isinstance(value, dict) or value.get("class_name") != KERAS_TENSOR:
        return False
    config = value.get("config")
    history = config.get("keras_history") if isinstance(config, dict) else None
    return isinstance(history, list) and len(history) == 3


def _history(tensor: Json) -> list[Any]:
    history: list[Any] = tensor["config"]["keras_history"]
    return history


def _names_layer(endpoints: Any, name: str) -> bool:
    if isinstance(endpoints, list) and endpoints and isinstance(endpoints[0], str):
        return endpoints[0] == name
    return isinstance(endpoints, list) and any(_names_layer(item, name) for item in endpoints)
