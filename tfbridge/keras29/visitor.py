"""What the one walk (keras29.walk) hands a visitor: each object with its `Place`, to report on
or to rewrite. A hook returns what stands in the object's place; `Leaf` stops the walk there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from tfbridge.keras29.knowledge import Category

PlaceKind = Literal[
    "model",
    "layer",
    "argument",
    "nodes",
    "training_config",
    "optimizer",
    "schedule",
    "loss",
    "metric",
    "metric_fn",
]


@dataclass(frozen=True)
class Place:
    """Where an object lives in the saved config.

    `path` locates it in the walked JSON (`model_config.config.layers[2].config.bias_initializer`);
    `where` says it for people (layer 'dense' (Dense) `bias_initializer`); `category` is what
    Keras 2.9 resolves it as; `class_name`/`name` are the object's (`name`: a layer's name);
    `parent` is the place of the object it sits in.
    """

    kind: PlaceKind
    path: str
    where: str
    parent: Place | None = None
    depth: int = 0
    key: str = ""
    category: Category | None = None
    class_name: str = ""
    name: str = ""
    # For the inbound nodes of a functional layer: the names of the model's layers that are
    # models themselves (Keras 2.9 counts their nodes from 1).
    nested_models: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Leaf:
    """A hook's answer that the walk goes no further inside: `value` stands as it is."""

    value: Any


class Visitor:
    """The hooks a walk calls. Each returns what stands in the object's place (by default the
    object itself) or a Leaf; override those you need."""

    def not_a_model(self, value: Any, place: Place) -> Any:
        """The `model_config` is not a serialized model (no dict with `class_name`)."""
        return value

    def malformed_layer(self, value: Any, place: Place) -> Any:
        """Where a layer belongs stands something without `class_name`/`config`."""
        return value

    def layer(self, entry: dict[str, Any], place: Place) -> Any:
        """A serialized layer or model, before the walk goes inside it."""
        return entry

    def layer_done(self, entry: Any, place: Place) -> Any:
        """The same layer once everything inside it was walked."""
        return entry

    def inbound_nodes(self, nodes: Any, place: Place) -> Any:
        """A functional model's layer's `inbound_nodes` (after the layer itself)."""
        return nodes

    def argument(self, value: Any, place: Place) -> Any:
        """An activation, initializer, regularizer, constraint or dtype policy of a layer."""
        return value

    def training_config(self, config: Any, place: Place) -> Any:
        """The training config, before its optimizer, losses and metrics."""
        return config

    def optimizer(self, value: Any, place: Place) -> Any:
        """An optimizer (`optimizer_config`, or one wrapped by another), before what it holds."""
        return value

    def schedule(self, value: Any, place: Place) -> Any:
        """An optimizer's learning-rate schedule."""
        return value

    def loss(self, value: Any, place: Place) -> Any:
        """One loss (a name or a serialized object) of one model output."""
        return value

    def metric(self, value: Any, place: Place) -> Any:
        """One metric of one model output (a result of None leaves it out of its list)."""
        return value

    def metric_fn(self, value: Any, place: Place) -> Any:
        """The `fn` a MeanMetricWrapper names."""
        return value

    def unreadable(self, value: Any, place: Place) -> Any:
        """Losses or metrics that are neither an object nor a list or dict of them."""
        return value

    def too_deep(self, value: Any, place: Place) -> Any:
        """Something nested deeper than MAX_WALK_DEPTH levels; the walk does not go inside."""
        return value
