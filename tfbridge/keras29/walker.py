"""Where Keras 2.9 finds serialized objects in a saved config: one answer for verify and convert.

Verify walks a saved config to report what Keras 2.9 would fail on; convert walks it to rewrite
it. Both go through the one walk (keras29.walk), the way Keras 2.9's deserialization does, and
the places it looks live here once:
which layer arguments hold other layers (wrappers, RNN cells), which hold an activation, an
initializer, a regularizer, a constraint or a dtype policy, how losses and metrics nest per model
output, which optimizer keys hold a wrapped optimizer, and the metric names `compile` resolves by
itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from tfbridge.keras29.semantics import ACTIVATION_KEYS

ArgumentKind = Literal[
    "layer", "layers", "activation", "dtype_policy", "initializer", "regularizer", "constraint"
]

MODEL_CLASSES = frozenset({"Sequential", "Functional", "Model"})
# Keras 3 writes a tensor passed in a call as {"class_name": "__keras_tensor__", ...}.
KERAS_TENSOR = "__keras_tensor__"
# Keras 2 writes class_name "Lambda"; Keras 3 stores the function as {"class_name": "__lambda__"}.
LAMBDA_CLASSES = ("Lambda", "__lambda__")
# Layer-config keys holding another serialized layer (wrappers, RNNs), or a list of them.
NESTED_LAYER_KEYS = ("layer", "backward_layer", "cell")
NESTED_LAYER_LIST_KEYS = ("cells",)
# Keys Keras 3 adds beside `class_name`/`config`; Keras 2.9 never reads them.
SERIALIZATION_KEYS = ("module", "registered_name", "build_config", "compile_config")
# Metric names Keras 2.9's compile resolves itself, from the loss, without deserializing them.
UNDESERIALIZED_METRICS = ("accuracy", "acc", "crossentropy", "ce")
# Keras 2.9's LossScaleOptimizer.from_config deserializes these as optimizers of their own
# (`optimizer` is the TF 2.3 spelling).
WRAPPED_OPTIMIZER_KEYS = ("inner_optimizer", "optimizer")
_SUFFIX_KINDS: tuple[tuple[str, ArgumentKind], ...] = (
    ("_initializer", "initializer"),
    ("_regularizer", "regularizer"),
    ("_constraint", "constraint"),
)


def argument_kind(key: str) -> ArgumentKind | None:
    """What Keras 2.9 deserializes a layer-config argument as, or None for a plain value."""
    if key in NESTED_LAYER_KEYS:
        return "layer"
    if key in NESTED_LAYER_LIST_KEYS:
        return "layers"
    if key == "dtype":
        return "dtype_policy"
    if key in ACTIVATION_KEYS:
        return "activation"
    for suffix, kind in _SUFFIX_KINDS:
        if key.endswith(suffix):
            return kind
    return None


def nested_layers(key: str, value: Any) -> Iterator[dict[str, Any]]:
    """The serialized layers a layer argument holds (none unless `key` is a nested-layer key)."""
    kind = argument_kind(key)
    if kind not in ("layer", "layers"):
        return
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict):
            yield item


def is_single_object(value: Any) -> bool:
    """One loss or metric: a name, or a serialized object (not a list/dict of them per output)."""
    return isinstance(value, str) or (isinstance(value, dict) and "class_name" in value)
