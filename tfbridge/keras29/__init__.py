"""Keras 2.9 against the Keras lines after it: what each means by the names 2.9 also has."""

from tfbridge.keras29.semantics import (
    BuiltinChange,
    Refusal,
    exact_rewrite,
    keras_line,
    line_versions,
    lookup,
    probed_lines,
    tf_nn_activations,
)

__all__ = [
    "BuiltinChange",
    "Refusal",
    "exact_rewrite",
    "keras_line",
    "line_versions",
    "lookup",
    "probed_lines",
    "tf_nn_activations",
]
