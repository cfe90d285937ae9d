"""One walk over a saved Keras config, in the order Keras 2.9 deserializes it.

`Walk(visitor).model(model_config)` goes through every layer at any depth (Sequential, Functional
and Model containers, nested models, wrappers' `layer`/`backward_layer`, RNN `cell`/`cells`), the
inbound nodes of each functional layer, and every serialized object inside a layer config
(activations, initializers, regularizers, constraints, dtype policies).
`Walk(visitor).training(training_config)` goes through the optimizer (the optimizers it wraps, at
any depth, and its learning-rate schedule), then the losses and metrics per model output (and a
MeanMetricWrapper's `fn`).

At each object the walk calls one hook of the visitor with the object and its `Place`. A hook
returns what stands in the object's place: the object itself (verify, which reports) or its
rewrite (convert); the walk then goes inside what the hook returned and builds the walked tree
from the answers. A hook that returns `Leaf(value)` stops the walk there. Visitors never recurse.

Nesting is bounded (MAX_WALK_DEPTH): a hostile config deeper than any model gets the `too_deep`
hook once, never a RecursionError.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from tfbridge.keras29.config_shape import MAX_NESTING
from tfbridge.keras29.knowledge import Category
from tfbridge.keras29.visitor import Leaf, Place, PlaceKind, Visitor
from tfbridge.keras29.walker import (
    MODEL_CLASSES,
    WRAPPED_OPTIMIZER_KEYS,
    ArgumentKind,
    argument_kind,
    is_single_object,
)

# Layers in layers, optimizers in optimizers, per-output lists in lists: each is one level, and
# each takes at least one JSON level, so real configs stay far below (the shape check of convert
# refuses JSON deeper than MAX_NESTING before walking); Python's stack holds several times this.
MAX_WALK_DEPTH = MAX_NESTING
# Keras 2.9 reads a schedule from `learning_rate`, or from the `lr` older savers wrote.
SCHEDULE_KEYS = ("learning_rate", "lr")
MEAN_METRIC_WRAPPER = "MeanMetricWrapper"

# Which objects a layer argument holds, as the category Keras 2.9 resolves it in.
_ARGUMENT_CATEGORIES: dict[ArgumentKind, Category] = {
    "activation": "activation",
    "dtype_policy": "dtype_policy",
    "initializer": "initializer",
    "regularizer": "regularizer",
    "constraint": "constraint",
}


Hook = Callable[[Any, Place], Any]


@dataclass
class Walk:
    """One traversal with one visitor; `places` records every place it visited, in order."""

    visitor: Visitor
    places: list[Place] = field(default_factory=list)

    def model(self, model_config: Any) -> Any:
        """The walked `model_config` (the visitor's rewrite, or the config itself)."""
        place = Place("model", "model_config", "model")
        if not isinstance(model_config, dict) or "class_name" not in model_config:
            return self._visit(self.visitor.not_a_model, model_config, place)
        return self._layer(model_config, place, "model_config", 0)

    def training(self, training_config: Any) -> Any:
        """The walked `training_config`."""
        place = Place("training_config", "training_config", "training config")
        answer = self._visit(self.visitor.training_config, training_config, place)
        if isinstance(answer, Leaf):
            return answer.value
        if not isinstance(answer, dict):
            return answer
        out = dict(answer)
        optimizer = self._optimizer(
            out.get("optimizer_config"), place, "training_config.optimizer_config", 0
        )
        if "optimizer_config" in out or optimizer is not None:
            out["optimizer_config"] = optimizer
        for per_output in (
            _PerOutput(self.visitor.loss, "loss", "loss"),
            _PerOutput(self.visitor.metric, "metric", "metrics"),
            _PerOutput(self.visitor.metric, "metric", "weighted_metrics"),
        ):
            key = per_output.key
            if out.get(key) is not None:
                out[key] = self._per_output(out[key], per_output, place, f"{place.path}.{key}", 0)
        return out

    # -- layers ---------------------------------------------------------------------------------

    def _layer(self, entry: Any, parent: Place, path: str, depth: int) -> Any:
        if not isinstance(entry, dict) or "class_name" not in entry or "config" not in entry:
            place = Place("layer", path, parent.where, parent, depth)
            return self._visit(self.visitor.malformed_layer, entry, place)
        place = _layer_place(entry, parent, path, depth)
        if depth > MAX_WALK_DEPTH:
            return self._visit(self.visitor.too_deep, entry, place)
        answer = self._visit(self.visitor.layer, entry, place)
        if isinstance(answer, Leaf):
            return answer.value
        if isinstance(answer, dict) and answer.get("class_name") in MODEL_CLASSES:
            walked = self._container(answer, place)
        elif isinstance(answer, dict) and isinstance(answer.get("config"), dict):
            walked = {**answer, "config": self._arguments(answer["config"], place)}
        else:
            walked = answer
        return self.visitor.layer_done(walked, place)

    def _container(self, entry: dict[str, Any], place: Place) -> dict[str, Any]:
        """A Sequential, Functional or Model: its layers, and each functional layer's nodes."""
        config = entry.get("config")
        if isinstance(config, list):  # the oldest Sequential dialect: the list of layers itself
            return {**entry, "config": self._layers(entry, config, place, ".config")}
        layers = config.get("layers") if isinstance(config, dict) else None
        if not isinstance(config, dict) or not isinstance(layers, list):
            return entry
        walked = self._layers(entry, layers, place, ".config.layers")
        return {**entry, "config": {**config, "layers": walked}}

    def _layers(
        self, entry: dict[str, Any], layers: list[Any], place: Place, suffix: str
    ) -> list[Any]:
        functional = entry.get("class_name") != "Sequential"
        models = nested_model_names(layers) if functional else frozenset()
        walked = []
        for index, item in enumerate(layers):
            item_path = f"{place.path}{suffix}[{index}]"
            out = self._layer(item, place, item_path, place.depth + 1)
            if functional and isinstance(item, dict):
                out = self._nodes(item, out, place, item_path, models)
            walked.append(out)
        return walked

    def _nodes(
        self,
        original: dict[str, Any],
        walked: Any,
        container: Place,
        path: str,
        models: frozenset[str],
    ) -> Any:
        layer = _layer_place(original, container, path, container.depth + 1)
        name = original.get("name", layer.name)
        place = Place(
            "nodes",
            f"{path}.inbound_nodes",
            f"{layer.where} `inbound_nodes`",
            container,
            layer.depth,
            key="inbound_nodes",
            class_name=layer.class_name,
            name=str(name),
            nested_models=models,
        )
        nodes = self._visit(self.visitor.inbound_nodes, original.get("inbound_nodes"), place)
        if isinstance(walked, dict) and ("inbound_nodes" in original or nodes is not None):
            return {**walked, "inbound_nodes": nodes}
        return walked

    def _arguments(self, config: dict[str, Any], layer: Place) -> dict[str, Any]:
        return {key: self._argument(key, value, layer) for key, value in config.items()}

    def _argument(self, key: str, value: Any, layer: Place) -> Any:
        kind = argument_kind(key)
        path = f"{layer.path}.config.{key}"
        if kind == "layer":
            return (
                self._layer(value, layer, path, layer.depth + 1)
                if isinstance(value, dict)
                else value
            )
        if kind == "layers":
            if not isinstance(value, list):
                return value
            return [
                self._layer(item, layer, f"{path}[{index}]", layer.depth + 1)
                if isinstance(item, dict)
                else item
                for index, item in enumerate(value)
            ]
        if kind is None:
            return value
        place = Place(
            "argument",
            path,
            f"{layer.where} `{key}`",
            layer,
            layer.depth,
            key=key,
            category=_ARGUMENT_CATEGORIES[kind],
            class_name=_class_name(value),
        )
        return self._visit(self.visitor.argument, value, place)

    # -- training config ------------------------------------------------------------------------

    def _optimizer(self, value: Any, parent: Place, path: str, depth: int) -> Any:
        class_name = _class_name(value)
        named = f"optimizer ({class_name})" if class_name else "optimizer"
        where = f"{parent.where} wrapping an {named}" if parent.kind == "optimizer" else named
        place = Place(
            "optimizer", path, where, parent, depth, category="optimizer", class_name=class_name
        )
        if depth > MAX_WALK_DEPTH:
            return self._visit(self.visitor.too_deep, value, place)
        answer = self._visit(self.visitor.optimizer, value, place)
        if isinstance(answer, Leaf):
            return answer.value
        config = answer.get("config") if isinstance(answer, dict) else None
        if not isinstance(config, dict):
            return answer
        config = dict(config)
        schedule_key = next((key for key in SCHEDULE_KEYS if key in config), None)
        if schedule_key is not None and isinstance(config[schedule_key], dict):
            schedule = Place(
                "schedule",
                f"{path}.config.{schedule_key}",
                f"{where} `{schedule_key}`",
                place,
                depth,
                key=schedule_key,
                category="lr_schedule",
                class_name=_class_name(config[schedule_key]),
            )
            config[schedule_key] = self._visit(
                self.visitor.schedule, config[schedule_key], schedule
            )
        for key in WRAPPED_OPTIMIZER_KEYS:
            if key in config:
                config[key] = self._optimizer(config[key], place, f"{path}.config.{key}", depth + 1)
        return {**answer, "config": config}

    def _per_output(
        self, value: Any, per_output: _PerOutput, parent: Place, path: str, depth: int
    ) -> Any:
        """Losses and metrics: one object, or lists/dicts of them per model output. A list leaves
        out what the hook turned into None."""
        if value is None:
            return None
        place = per_output.place(value, parent, path, depth)
        if depth > MAX_WALK_DEPTH:
            return self._visit(self.visitor.too_deep, value, place)
        if is_single_object(value):
            return self._single(value, per_output, place)
        if isinstance(value, list):
            items = (
                self._per_output(item, per_output, parent, f"{path}[{index}]", depth + 1)
                for index, item in enumerate(value)
            )
            return [item for item in items if item is not None]
        if isinstance(value, dict):
            return {
                key: self._per_output(item, per_output, parent, f"{path}.{key}", depth + 1)
                for key, item in value.items()
            }
        return self._visit(self.visitor.unreadable, value, place)

    def _single(self, value: Any, per_output: _PerOutput, place: Place) -> Any:
        answer = self._visit(per_output.hook, value, place)
        if isinstance(answer, Leaf):
            return answer.value
        if not isinstance(answer, dict) or answer.get("class_name") != MEAN_METRIC_WRAPPER:
            return answer
        config = answer.get("config")
        fn = config.get("fn") if isinstance(config, dict) else None
        if not isinstance(config, dict) or not isinstance(fn, str):
            return answer
        fn_place = Place(
            "metric_fn",
            f"{place.path}.config.fn",
            place.where,
            place,
            place.depth,
            key="fn",
            category="metric",
            class_name=fn,
        )
        walked_fn = self._visit(self.visitor.metric_fn, fn, fn_place)
        return {**answer, "config": {**config, "fn": walked_fn}}

    def _visit(self, hook: Hook, value: Any, place: Place) -> Any:
        self.places.append(place)
        return hook(value, place)


@dataclass(frozen=True)
class _PerOutput:
    """What one training-config key holds per output: its hook and its category."""

    hook: Hook
    category: Literal["loss", "metric"]
    key: str

    def place(self, value: Any, parent: Place, path: str, depth: int) -> Place:
        class_name = _class_name(value)
        kind: PlaceKind = self.category
        where = f"{self.category} ({class_name})" if class_name else self.category
        return Place(
            kind,
            path,
            where,
            parent,
            depth,
            key=self.key,
            category=self.category,
            class_name=class_name,
        )


def nested_model_names(layers: list[Any]) -> frozenset[str]:
    """The names of a functional model's layers that are models themselves."""
    return frozenset(
        str(item.get("name"))
        for item in layers
        if isinstance(item, dict) and item.get("class_name") in MODEL_CLASSES
    )


def _layer_place(entry: dict[str, Any], parent: Place, path: str, depth: int) -> Place:
    class_name = str(entry.get("class_name", "?"))
    config = entry.get("config")
    name = config.get("name", entry.get("name", "?")) if isinstance(config, dict) else "?"
    return Place(
        "layer",
        path,
        f"layer '{name}' ({class_name})",
        parent,
        depth,
        category="layer",
        class_name=class_name,
        name=str(name),
    )


def _class_name(value: Any) -> str:
    if isinstance(value, dict) and "class_name" in value:
        return str(value["class_name"])
    return ""
