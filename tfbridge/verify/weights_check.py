"""Weight shapes against the layer configs: what Keras 2.9's loader refuses when it sets weights
("Layer weight shape ... not compatible with provided weight shape"). Shapes only, no values.

Checked where the config alone fixes the last dimension (units, filters, output_dim), for layer
names that occur once in the whole config, so a nested model reusing a name cannot mislead it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from tfbridge.verify.findings import FIX_SAVE_H5, Finding
from tfbridge.verify.h5file import WeightInfo

# class name -> (config key that sizes the last dimension, the weights it sizes)
LAST_DIMENSION = {
    "Dense": ("units", ("kernel", "bias")),
    "Conv1D": ("filters", ("kernel", "bias")),
    "Conv2D": ("filters", ("kernel", "bias")),
    "Conv3D": ("filters", ("kernel", "bias")),
    "Embedding": ("output_dim", ("embeddings",)),
}


def weight_shape_findings(
    model_config: Any, layer_weights: dict[str, list[WeightInfo]]
) -> list[Finding]:
    layers = _unique_layers(model_config)
    findings = []
    for group, weights in layer_weights.items():
        for weight in weights:
            owner = weight.name.rsplit("/", 2)[-2] if "/" in weight.name else group
            problem = _mismatch(layers.get(owner), weight)
            if problem:
                findings.append(
                    Finding("weights", "fail", f"layer '{owner}' {problem}", FIX_SAVE_H5)
                )
    return findings


def _mismatch(layer: tuple[str, dict[str, Any]] | None, weight: WeightInfo) -> str:
    if layer is None or layer[0] not in LAST_DIMENSION:
        return ""
    class_name, config = layer
    key, sized = LAST_DIMENSION[class_name]
    size = config.get(key)
    kind = weight.name.rsplit("/", 1)[-1].split(":")[0]
    if kind not in sized or not isinstance(size, int) or isinstance(size, bool):
        return ""
    if weight.shape and weight.shape[-1] == size:
        return ""
    return (
        f"({class_name}, {key}={size}): weight `{weight.name}` has shape {list(weight.shape)}; "
        "Keras 2.9 fails setting it ('Layer weight shape ... not compatible')"
    )


def _unique_layers(model_config: Any) -> dict[str, tuple[str, dict[str, Any]]]:
    """Layer name -> (class name, config), for names used once anywhere in the config (an
    explicit stack: no recursion limit)."""
    found: list[tuple[str, str, dict[str, Any]]] = []
    stack = [model_config]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            config = item.get("config")
            if isinstance(config, dict) and isinstance(config.get("name"), str):
                found.append((config["name"], str(item.get("class_name")), config))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    counts = Counter(name for name, _, _ in found)
    return {name: (cls, config) for name, cls, config in found if counts[name] == 1}
