"""Keras 2.9 against the Keras lines after it: what each means by the names 2.9 also has."""

from tfbridge.keras29.semantics import (
    BuiltinChange,
    Refusal,
    Verdict,
    exact_rewrite,
    judge,
    keras_line,
    line_versions,
    lookup,
    probed_lines,
    saver_line,
    tf_nn_activations,
)

__all__ = [
    "BuiltinChange",
    "Refusal",
    "Verdict",
    "exact_rewrite",
    "judge",
    "keras_line",
    "line_versions",
    "lookup",
    "probed_lines",
    "saver_line",
    "tf_nn_activations",
]
