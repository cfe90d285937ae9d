"""Emulate what Keras 2.9 does with a saved `training_config` when load_model compiles (the
grader's compile=True): deserialize the optimizer (and its learning-rate schedule), losses and
metrics, as `saving_utils.compile_args_from_training_config` does. The walk (keras29.walk) goes
through them in that order, into every optimizer a mixed-precision LossScaleOptimizer wraps."""

from __future__ import annotations

from typing import Any

from tfbridge.keras29.knowledge import Knowledge
from tfbridge.keras29.visitor import Leaf, Place, Visitor
from tfbridge.keras29.walk import MAX_WALK_DEPTH
from tfbridge.keras29.walker import UNDESERIALIZED_METRICS
from tfbridge.verify.findings import FIX_COMPILE, Problems, Writer
from tfbridge.verify.model_config import ModelConfigEmulator

REQUIRED_KEYS = ("optimizer_config", "loss_weights")


class TrainingConfigEmulator(Visitor):
    """The walk's reporting visitor over a `training_config`."""

    def __init__(self, knowledge: Knowledge, writer: Writer, problems: Problems) -> None:
        self.knowledge = knowledge
        self.writer = writer
        self.problems = problems
        self._resolver = ModelConfigEmulator(knowledge, writer, problems)

    def training_config(self, config: Any, place: Place) -> Any:
        if not isinstance(config, dict):
            self._fail(place.where, "it is not a JSON object")
            return Leaf(config)
        for key in REQUIRED_KEYS:
            if key not in config:
                self._fail(place.where, f"key `{key}` is missing (Keras 2.9 reads it)")
        return config

    def optimizer(self, value: Any, place: Place) -> Any:
        """The optimizer as Keras 2.9 deserializes it; the walk then goes into its schedule and
        every optimizer it wraps."""
        if not isinstance(value, dict) or "class_name" not in value:
            return Leaf(value)
        known = self._resolver.reference(
            "optimizer", {"class_name": value["class_name"]}, place.where, "compile"
        )
        arguments = value.get("config")
        if known is None or not isinstance(arguments, dict):
            return Leaf(value)
        arguments = dict(arguments)
        if "lr" in arguments:
            arguments["learning_rate"] = arguments.pop("lr")
        for argument in known.unknown_args(arguments):
            text = (
                f"argument `{argument}` is not accepted by Keras 2.9's {known.qualname} "
                f"(written by {self.writer.label})"
            )
            self.problems.add("compile", "fail", place.where, text, FIX_COMPILE)
        return value

    def schedule(self, value: Any, place: Place) -> Any:
        where = place.parent.where if place.parent else place.where
        self._resolver.reference("lr_schedule", value, where, "compile", "learning_rate")
        return value

    def loss(self, value: Any, place: Place) -> Any:
        self._resolver.reference("loss", value, place.where, "compile")
        return value

    def metric(self, value: Any, place: Place) -> Any:
        if value not in UNDESERIALIZED_METRICS:
            self._resolver.reference("metric", value, place.where, "compile")
        return value

    def metric_fn(self, value: Any, place: Place) -> Any:
        self._resolver.reference("metric", value, place.where, "compile", "fn")
        return value

    def unreadable(self, value: Any, place: Place) -> Any:
        category = place.category or "loss"
        self._fail(category, f"saved {category} config `{value!r}` is not understood")
        return value

    def too_deep(self, value: Any, place: Place) -> Any:
        self._fail(place.where, f"nested more than {MAX_WALK_DEPTH} levels deep")
        return value

    def _fail(self, where: str, text: str) -> None:
        self.problems.add("compile", "fail", where, text, FIX_COMPILE)
