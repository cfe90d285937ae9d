"""Rewrite the layer list of every functional model in a config, nested ones first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tfbridge.keras29.walker import MODEL_CLASSES

# (the model's layers, the model's config) -> its new layers
LayersRewrite = Callable[[list[Any], dict[str, Any]], list[Any]]


def rewrite_layer_lists(model_config: Any, rewrite: LayersRewrite) -> Any:
    """`model_config` with `rewrite` applied to the `layers` of each model at any depth (a copy;
    the input is not modified)."""
    if not isinstance(model_config, dict) or model_config.get("class_name") not in MODEL_CLASSES:
        return model_config
    config = model_config.get("config")
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        return model_config
    layers = [rewrite_layer_lists(layer, rewrite) for layer in config["layers"]]
    return {**model_config, "config": {**config, "layers": rewrite(layers, config)}}
