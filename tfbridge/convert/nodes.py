"""Keras 3's inbound-node format -> Keras 2.9's nested lists.

Keras 3 writes a call as `{"args": [...], "kwargs": {...}}` with tensors as
`{"class_name": "__keras_tensor__", "config": {"keras_history": [layer, node, index]}}`.
Keras 2.9 wants, per call, a list of `[layer, node, index, kwargs]`, one per input tensor.
"""

from __future__ import annotations

from typing import Any

from tfbridge.keras29.walker import KERAS_TENSOR


def is_keras3_node(node: Any) -> bool:
    return isinstance(node, dict) and "args" in node


def _is_tensor(value: Any) -> bool:
    return isinstance(value, dict) and value.get("class_name") == KERAS_TENSOR


def _history(tensor: dict[str, Any], nested_models: set[str]) -> list[Any]:
    layer, node_index, tensor_index = tensor["config"]["keras_history"]
    # Keras 2.9 does not count a nested model's own construction node as one of its calls
    # (functional.py `_should_skip_first_node`), so its first call is node 1, not 0.
    if layer in nested_models:
        node_index += 1
    return [layer, node_index, tensor_index]


def _tensors_as_history(value: Any, nested_models: set[str]) -> Any:
    if _is_tensor(value):
        return _history(value, nested_models)
    if isinstance(value, list):
        return [_tensors_as_history(item, nested_models) for item in value]
    if isinstance(value, dict):
        return {key: _tensors_as_history(item, nested_models) for key, item in value.items()}
    return value


def _kwargs(
    kwargs: dict[str, Any], nested_models: set[str], none_kwargs: frozenset[str]
) -> dict[str, Any]:
    # Keras 3 records masks as None on calls of layers whose Keras 2.9 `call` has no such
    # parameter (`mask` on BatchNormalization, `query_mask` on MultiHeadAttention); None is
    # every mask's default, so leave them out.
    return {
        key: _tensors_as_history(value, nested_models)
        for key, value in kwargs.items()
        if not (key in none_kwargs and _all_none(value))
    }


def _all_none(value: Any) -> bool:
    return value is None or (isinstance(value, list) and all(item is None for item in value))


def keras3_node_to_legacy(
    node: dict[str, Any],
    nested_models: set[str],
    positional_names: list[str] | None = None,
    none_kwargs: frozenset[str] = frozenset({"mask"}),
    *,
    bare_single_input: bool = False,
) -> tuple[list[Any], str | None]:
    """One Keras 3 call as Keras 2.9 node data, and a problem that blocks it (or None).

    Keras 2.9 holds one positional input per call; `positional_names` (the layer's `call`
    parameters) lets the others go by name into the kwargs, as Keras 2.9 writes them.
    `none_kwargs`: call arguments left out when None (masks). `bare_single_input`: a call on one
    tensor is written as that tensor's entry itself, not a list of one (Keras 2.9 keeps the input
    structure of a TFOpLambda, which would otherwise receive a list).
    """
    args = node.get("args", [])
    kwargs = _kwargs(node.get("kwargs", {}) or {}, nested_models, none_kwargs)
    names = positional_names or []
    if len(args) > 1 and len(args) <= len(names):
        for name, value in zip(names[1:], args[1:], strict=False):
            if name in kwargs:
                return [], f"is called with `{name}` both by position and by name"
            kwargs[name] = _tensors_as_history(value, nested_models)
        args = args[:1]
    if len(args) != 1:
        return [], f"is called with {len(args)} positional inputs; Keras 2.9 configs hold one"
    first = args[0]
    tensors = first if isinstance(first, (list, tuple)) else [first]
    if not tensors or not all(_is_tensor(item) for item in tensors):
        return [], "is called on something other than Keras tensors (a constant or a dict)"
    entries = [[*_history(tensor, nested_models), kwargs] for tensor in tensors]
    if bare_single_input and not isinstance(first, (list, tuple)):
        return entries[0], None
    return entries, None


def wrap_single_endpoint(endpoints: Any) -> Any:
    """A lone model input/output: Keras 3 writes `[name, 0, 0]`, Keras 2.9 `[[name, 0, 0]]`."""
    if (
        isinstance(endpoints, list)
        and len(endpoints) == 3
        and isinstance(endpoints[0], str)
        and all(isinstance(item, int) for item in endpoints[1:])
    ):
        return [endpoints]
    return endpoints
