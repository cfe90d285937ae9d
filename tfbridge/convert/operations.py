"""Keras 3 writes tensor arithmetic in a functional model (`a + b`, `x * 2.0`, `ops.mean(x)`) as
operation layers (`Add`, `Multiply`, `Mean`...) called with positional operands. Keras 2.9 writes
the same arithmetic as a `TFOpLambda` layer naming the TensorFlow function (`math.multiply`), its
first tensor as the input and the rest as call kwargs (`{"y": 2.0}`): measured by saving `a + b`,
`c * 2.0 - 1.0`, `/ 3.0`, `tf.reduce_mean` in TF 2.9. The functions, per operation, are in
rules.json (`keras3_operations`); each is the function Keras 3's TensorFlow backend calls.

Rewritten only where it is exact: float32 tensors (Keras 3 computes some operations at another
precision for other dtypes) and numbers; a number first only for a commutative operation, whose
operands are then swapped. A Keras 3 merge *layer* (`Add()([a, b]`, one list argument) is 2.9's
merge layer and is left alone.
"""

from __future__ import annotations

from typing import Any

from tfbridge.convert.functional import rewrite_layer_lists
from tfbridge.convert.report import Notes
from tfbridge.keras29.rules import Rules
from tfbridge.keras29.walker import KERAS_TENSOR

Json = dict[str, Any]
TF_OP_LAMBDA = "TFOpLambda"
EXACT_DTYPES = frozenset({"float32"})


def operations_as_tf_op_layers(model_config: Any, rules: Rules, notes: Notes) -> Any:
    """`model_config` with each Keras 3 operation layer that has an exact Keras 2.9 form written
    as that `TFOpLambda` (a copy; the input is not modified). Others stay, for the rewriter to
    refuse by name."""

    def rewrite(layers: list[Any], model: Json) -> list[Any]:
        return [_as_tf_op_layer(layer, rules, notes) for layer in layers]

    return rewrite_layer_lists(model_config, rewrite)


def _as_tf_op_layer(layer: Any, rules: Rules, notes: Notes) -> Any:
    if not isinstance(layer, dict) or not _is_operation_call(layer, rules):
        return layer
    operation = rules.keras3_operation(str(layer["class_name"]))
    if operation is None:
        return layer
    config: Json = layer["config"] if isinstance(layer.get("config"), dict) else {}
    rewritten = [_node(node, config, operation) for node in layer["inbound_nodes"]]
    if any(node is None for node in rewritten):
        return layer
    name = layer.get("name")
    function = operation["function"]
    notes.change(
        f"Keras 3 operation `{name}` ({layer['class_name']}) written as Keras 2.9's "
        f"TFOpLambda `tf.{function}`"
    )
    config = {"name": name, "trainable": True, "dtype": "float32", "function": function}
    return {**layer, "class_name": TF_OP_LAMBDA, "config": config, "inbound_nodes": rewritten}


def _is_operation_call(layer: Json, rules: Rules) -> bool:
    """An operation, not a layer: Keras 2.9 has no layer of that name, or the call passes its
    operands as several positional arguments (a merge layer takes one list)."""
    class_name = layer.get("class_name")
    nodes = layer.get("inbound_nodes")
    if not isinstance(class_name, str) or rules.keras3_operation(class_name) is None:
        return False
    if not isinstance(nodes, list) or not nodes or not all(isinstance(n, dict) for n in nodes):
        return False
    if rules.knowledge.resolve("layer", class_name) is None:
        return True
    return all(len(node.get("args") or []) > 1 for node in nodes)


def _node(node: Json, config: Json, operation: Json) -> Json | None:
    """The call as Keras 2.9 writes it: the first tensor positional, the rest as kwargs."""
    args = list(node.get("args") or [])
    if node.get("kwargs") or not args or not all(_is_operand(arg) for arg in args):
        return None
    if not _is_tensor(args[0]) and operation.get("commutative") and len(args) == 2:
        args.reverse()
    if not _is_tensor(args[0]):
        return None
    names: list[str] = operation.get("operands", ["x", "y"])
    if len(args) > len(names):
        return None
    kwargs = dict(zip(names[1:], args[1:], strict=False))
    for key in operation.get("config_kwargs", []):
        if key in config:
            kwargs[key] = config[key]
    unknown = set(config) - {"name", *operation.get("config_kwargs", [])}
    return None if unknown else {"args": [args[0]], "kwargs": kwargs}


def _is_operand(value: Any) -> bool:
    if _is_tensor(value):
        return value["config"].get("dtype") in EXACT_DTYPES
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_tensor(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.get("class_name") == KERAS_TENSOR
        and isinstance(value.get("config"), dict)
    )
