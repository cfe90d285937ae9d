"""Check that a model or training config has the shape Keras writes, before anything rewrites it.

The rewriters walk these configs trusting their shape (a model's `layers` is a list of layer
objects, an inbound node a list of `[layer, node, tensor, kwargs]`...). A damaged or hand-made
file breaks that trust anywhere; this module finds the first place it does and names it, so the
user gets one line instead of a traceback. Nesting is bounded before anything recurses.
"""

from __future__ import annotations

from typing import Any

from tfbridge.keras29.walker import (
    KERAS_TENSOR,
    MODEL_CLASSES,
    NESTED_LAYER_KEYS,
    NESTED_LAYER_LIST_KEYS,
    WRAPPED_OPTIMIZER_KEYS,
)

# Far deeper than any real model (each nested model adds four levels), far below Python's
# recursion limit for the rewriters that walk it.
MAX_NESTING = 120


class ConfigShapeError(Exception):
    """`place` (a path like `config.layers[2].inbound_nodes[0]`) is not what Keras writes."""

    def __init__(self, place: str, problem: str) -> None:
        super().__init__(f"{place} {problem}")
        self.place = place
        self.problem = problem


def nesting_depth_exceeds(value: Any, limit: int = MAX_NESTING) -> bool:
    """True when JSON lists/objects nest deeper than `limit` (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return False


def check_model_config(config: Any) -> None:
    """Raise ConfigShapeError unless `config` is a serialized Keras model of the expected shape."""
    _check_depth(config, "model_config")
    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        what = "an object without `class_name` and `config`" if isinstance(config, dict) else None
        raise ConfigShapeError(
            "model_config", f"is {what or _kind(config)}, not a Keras model config"
        )
    _check_layer(config, "model_config")


def check_training_config(config: Any) -> None:
    """Raise ConfigShapeError unless `config` is an object whose optimizer is readable."""
    _check_depth(config, "training_config")
    _require(isinstance(config, dict), "training_config", "an object", config)
    optimizer = config.get("optimizer_config")
    if optimizer is None:
        return
    _check_serialized(optimizer, "training_config.optimizer_config")
    settings = optimizer.get("config")
    learning_rate = settings.get("learning_rate") if isinstance(settings, dict) else None
    if isinstance(learning_rate, dict):
        where = "training_config.optimizer_config.config.learning_rate"
        _check_serialized(learning_rate, where)
    for key in WRAPPED_OPTIMIZER_KEYS:
        inner = settings.get(key) if isinstance(settings, dict) else None
        if inner is not None:
            _check_serialized(inner, f"training_config.optimizer_config.config.{key}")


def _check_depth(value: Any, place: str) -> None:
    if nesting_depth_exceeds(value):
        raise ConfigShapeError(place, f"nests deeper than {MAX_NESTING} levels")


def _check_serialized(value: Any, place: str) -> None:
    """A Keras object: `{"class_name": str, "config": object or null, ...}`."""
    _require(isinstance(value, dict), place, "an object", value)
    _require(isinstance(value.get("class_name"), str), f"{place}.class_name", "a string", value)
    config = value.get("config")
    _require(config is None or isinstance(config, dict), f"{place}.config", "an object", config)


def _check_layer(layer: Any, place: str) -> None:
    _require(isinstance(layer, dict), place, "a layer object", layer)
    _require(isinstance(layer.get("class_name"), str), f"{place}.class_name", "a string", layer)
    config = layer.get("config")
    _require(isinstance(config, dict), f"{place}.config", "an object", config)
    for key in NESTED_LAYER_KEYS:
        if config.get(key) is not None:
            _check_layer(config[key], f"{place}.config.{key}")
    for key in NESTED_LAYER_LIST_KEYS:
        if config.get(key) is not None:
            items = _list(config[key], f"{place}.config.{key}")
            for index, item in enumerate(items):
                _check_layer(item, f"{place}.config.{key}[{index}]")
    if layer["class_name"] in MODEL_CLASSES:
        _check_model_layers(layer["class_name"], config, f"{place}.config")


def _check_model_layers(class_name: str, config: dict[str, Any], place: str) -> None:
    layers = _list(config.get("layers", []), f"{place}.layers")
    for index, layer in enumerate(layers):
        where = f"{place}.layers[{index}]"
        _check_layer(layer, where)
        if class_name != "Sequential":
            nodes = _list(layer.get("inbound_nodes", []), f"{where}.inbound_nodes")
            for number, node in enumerate(nodes):
                _check_node(node, f"{where}.inbound_nodes[{number}]")
    for key in ("input_layers", "output_layers"):
        value = config.get(key)
        _require(
            value is None or isinstance(value, (list, dict)), f"{place}.{key}", "a list", value
        )


def _check_node(node: Any, place: str) -> None:
    if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
        _list(node.get("args", []), f"{place}.args")
        kwargs = node.get("kwargs")
        _require(kwargs is None or isinstance(kwargs, dict), f"{place}.kwargs", "an object", node)
        _check_tensors(node, place)
        return
    for index, entry in enumerate(_list(node, place)):
        _check_legacy_entry(entry, f"{place}[{index}]")


def _check_legacy_entry(entry: Any, place: str) -> None:
    """Keras 2: `[layer_name, node_index, tensor_index]` plus an optional kwargs object."""
    shaped = (
        isinstance(entry, list)
        and len(entry) in (3, 4)
        and isinstance(entry[0], str)
        and all(_is_index(item) for item in entry[1:3])
        and (len(entry) == 3 or isinstance(entry[3], dict))
    )
    _require(shaped, place, "a [layer, node, tensor, kwargs] entry", entry)


def _check_tensors(value: Any, place: str) -> None:
    """Every Keras 3 tensor reference inside a call must name `[layer, node, tensor]`."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            if item.get("class_name") == KERAS_TENSOR:
                _check_keras_history(item, place)
            else:
                stack.extend(item.values())


def _check_keras_history(tensor: dict[str, Any], place: str) -> None:
    config = tensor.get("config")
    history = config.get("keras_history") if isinstance(config, dict) else None
    shaped = (
        isinstance(history, list)
        and len(history) == 3
        and isinstance(history[0], str)
        and all(_is_index(item) for item in history[1:])
    )
    _require(shaped, f"{place} (a tensor's keras_history)", "[layer, node, tensor]", history)


def _is_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _list(value: Any, place: str) -> list[Any]:
    _require(isinstance(value, list), place, "a list", value)
    items: list[Any] = value
    return items


def _require(ok: bool, place: str, expected: str, value: Any) -> None:
    if not ok:
        raise ConfigShapeError(place, f"should be {expected} but is {_kind(value)}")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    kinds = {bool: "a boolean", str: "a JSON string", int: "a number", float: "a number"}
    for kind, label in kinds.items():
        if isinstance(value, kind):
            return label
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
