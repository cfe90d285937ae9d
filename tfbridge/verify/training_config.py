"""Emulate what Keras 2.9 does with a saved `training_config` when load_model compiles (the
grader's compile=True): deserialize the optimizer (and its learning-rate schedule), losses and
metrics, as `saving_utils.compile_args_from_training_config` does."""

from __future__ import annotations

from typing import Any

from tfbridge.keras29.walker import (
    UNDESERIALIZED_METRICS,
    is_single_object,
    wrapped_optimizers,
)
from tfbridge.verify.findings import FIX_COMPILE, Problems, Writer
from tfbridge.verify.knowledge import Category, Knowledge
from tfbridge.verify.model_config import ModelConfigEmulator


class TrainingConfigEmulator:
    def __init__(self, knowledge: Knowledge, writer: Writer, problems: Problems) -> None:
        self.knowledge = knowledge
        self.writer = writer
        self.problems = problems
        self._resolver = ModelConfigEmulator(knowledge, writer, problems)

    def training_config(self, config: Any) -> None:
        if not isinstance(config, dict):
            self._fail("training config", "it is not a JSON object")
            return
        for key in ("optimizer_config", "loss_weights"):
            if key not in config:
                self._fail("training config", f"key `{key}` is missing (Keras 2.9 reads it)")
        self.optimizer(config.get("optimizer_config"))
        self._nested("loss", config.get("loss"))
        self._nested("metric", config.get("metrics"))
        self._nested("metric", config.get("weighted_metrics"))

    def optimizer(self, config: Any, wrapped_in: str = "") -> None:
        """The optimizer as Keras 2.9 deserializes it, and every optimizer it wraps (a mixed-
        precision LossScaleOptimizer deserializes its `inner_optimizer` the same way)."""
        if not isinstance(config, dict) or "class_name" not in config:
            return
        where = f"{wrapped_in}optimizer ({config['class_name']})"
        known = self._resolver.reference(
            "optimizer", {"class_name": config["class_name"]}, where, "compile"
        )
        arguments = config.get("config")
        if known is None or not isinstance(arguments, dict):
            return
        arguments = dict(arguments)
        if "lr" in arguments:
            arguments["learning_rate"] = arguments.pop("lr")
        for argument in known.unknown_args(arguments):
            text = (
                f"argument `{argument}` is not accepted by Keras 2.9's {known.qualname} "
                f"(written by {self.writer.label})"
            )
            self.problems.add("compile", "fail", where, text, FIX_COMPILE)
        schedule = arguments.get("learning_rate")
        if isinstance(schedule, dict):
            self._resolver.reference("lr_schedule", schedule, where, "compile", "learning_rate")
        for _, inner in wrapped_optimizers(arguments):
            self.optimizer(inner, wrapped_in=f"{where} wrapping an ")

    def _nested(self, category: Category, config: Any) -> None:
        """Losses and metrics may be one object, or lists/dicts of them (per output)."""
        if config is None:
            return
        if is_single_object(config):
            self._single(category, config)
        elif isinstance(config, (dict, list)):
            for value in config.values() if isinstance(config, dict) else config:
                self._nested(category, value)
        else:
            self._fail(category, f"saved {category} config `{config!r}` is not understood")

    def _single(self, category: Category, config: Any) -> None:
        if category == "metric" and config in UNDESERIALIZED_METRICS:
            return
        if isinstance(config, str):
            self._resolver.reference(category, config, category, "compile")
            return
        where = f"{category} ({config['class_name']})"
        arguments = config.get("config")
        fn = arguments.get("fn") if isinstance(arguments, dict) else None
        self._resolver.reference(category, config, where, "compile")
        if config["class_name"] == "MeanMetricWrapper" and isinstance(fn, str):
            self._resolver.reference("metric", fn, where, "compile", "fn")

    def _fail(self, where: str, text: str) -> None:
        self.problems.add("compile", "fail", where, text, FIX_COMPILE)
