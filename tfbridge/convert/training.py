"""Rewrite a training config (optimizer, loss, metrics) into what Keras 2.9's `compile` accepts.

Nothing here changes predictions; it decides whether `load_model(path)` (compile=True) works and
how close further training stays to the original. Every drop is reported.
"""

from __future__ import annotations

from typing import Any

from tfbridge.convert.report import Effect, Notes
from tfbridge.convert.semantics_gate import SemanticsGate
from tfbridge.keras29.knowledge import Category
from tfbridge.keras29.rules import Rules
from tfbridge.keras29.visitor import Leaf, Place, Visitor
from tfbridge.keras29.walk import MAX_WALK_DEPTH
from tfbridge.keras29.walker import UNDESERIALIZED_METRICS

DROP_OPTIMIZER_HINT = (
    "use --drop-optimizer to write the model without its training config "
    "(it then loads uncompiled, like `model.save(..., include_optimizer=False)`)"
)

Json = dict[str, Any]


class TrainingConfigRewriter(Visitor):
    """The walk's transforming visitor over a `training_config`."""

    def __init__(self, rules: Rules, notes: Notes, gate: SemanticsGate) -> None:
        self.rules = rules
        self.knowledge = rules.knowledge
        self.notes = notes
        self.gate = gate

    def training_config(self, config: Any, place: Place) -> Any:
        if not isinstance(config, dict):
            return config
        out = {k: v for k, v in config.items() if k in self.rules.training_config_keys}
        unread = [f"`{key}`" for key in config if key not in out]
        if unread:
            self.notes.change(
                f"training config: {', '.join(unread)} left out (2.9 never reads them)"
            )
        out.setdefault("optimizer_config", None)
        out.setdefault("loss_weights", None)
        return out

    def too_deep(self, value: Any, place: Place) -> Any:
        self.notes.refuse(
            f"the training config's {place.where} is nested more than {MAX_WALK_DEPTH} levels deep",
            DROP_OPTIMIZER_HINT,
        )
        return value

    # -- optimizer ----------------------------------------------------------------------------

    def optimizer(self, serialized: Any, place: Place) -> Any:
        """The optimizer as Keras 2.9 has it; the walk then rewrites its schedule and the
        optimizer it wraps."""
        if not isinstance(serialized, dict) or "class_name" not in serialized:
            self.notes.refuse("the training config has no readable optimizer", DROP_OPTIMIZER_HINT)
            return Leaf(serialized)
        original = str(serialized["class_name"])
        name = original.removeprefix("Custom>")
        wrapper = self.rules.optimizer_wrapper(name)
        if wrapper is not None:
            return self._wrapping_optimizer(original, wrapper, serialized)
        target = self._optimizer_target(name)
        if target is None:
            self.notes.refuse(
                f"the optimizer `{original}` has no Keras 2.9 equivalent", DROP_OPTIMIZER_HINT
            )
            return Leaf(serialized)
        target_name, known_args = target
        if target_name != original:
            self.notes.change(f"optimizer `{original}` written as Keras 2.9's `{target_name}`")
        where = f"optimizer {original}"
        config = self.gate.training_object("optimizer", name, _settings(serialized), where)
        kept: Json = {}
        for arg, value in config.items():
            if arg not in known_args:
                effect: Effect = (
                    "none"
                    if self.rules.is_neutral_optimizer_arg(arg, value, config)
                    else "training"
                )
                self.notes.drop(where, arg, value, effect)
            else:
                kept[arg] = value
        return {"class_name": target_name, "config": kept}

    def _wrapping_optimizer(self, original: str, wrapper: Json, serialized: Json) -> Any:
        """An optimizer wrapping another (LossScaleOptimizer): the walk rewrites the inner one
        as usual."""
        target, inner_key, defaults = wrapper["target"], wrapper["inner"], wrapper["defaults"]
        known = self.knowledge.resolve("optimizer", target)
        config = _settings(serialized)
        if known is None or inner_key not in config:
            self.notes.refuse(
                f"the optimizer `{original}` has no Keras 2.9 equivalent", DROP_OPTIMIZER_HINT
            )
            return Leaf(serialized)
        kept: Json = {**defaults, inner_key: config[inner_key]}
        where = f"optimizer {original}"
        for arg, value in config.items():
            if arg == inner_key:
                continue
            if arg in known.args:
                kept[arg] = value
            else:
                neutral = arg == "name" or self.rules.is_neutral_optimizer_arg(arg, value, config)
                self.notes.drop(where, arg, value, "none" if neutral else "training")
        if target != original:
            self.notes.change(f"optimizer `{original}` written as Keras 2.9's `{target}`")
        return {"class_name": target, "config": kept}

    def _optimizer_target(self, name: str) -> tuple[str, frozenset[str]] | None:
        mapped = self.rules.mapped_optimizer(name.lower())
        if mapped is not None:
            known = self.knowledge.resolve("optimizer", mapped)
            return (mapped, known.args) if known else None
        known = self.knowledge.resolve("optimizer", name)
        # Only 2.9's core (optimizer_v2) classes: its experimental ones reject the arguments
        # newer Keras writes and cannot restore optimizer weights from .h5.
        if known is None or ".optimizer_v2." not in known.qualname:
            return None
        return name, known.args

    def schedule(self, serialized: Any, place: Place) -> Any:
        where = f"optimizer {place.parent.class_name}" if place.parent else place.where
        class_name = str(serialized.get("class_name"))
        known = self.knowledge.resolve("lr_schedule", class_name)
        if known is None:
            self.notes.refuse(
                f"the learning-rate schedule `{class_name}` has no Keras 2.9 equivalent",
                DROP_OPTIMIZER_HINT,
            )
            return serialized
        where = f"{where} schedule {class_name}"
        config = self.gate.training_object("lr_schedule", class_name, _settings(serialized), where)
        kept: Json = {}
        for arg, value in config.items():
            if arg in known.args:
                kept[arg] = value
            elif value is None:
                self.notes.drop(where, arg, value, "none")
            else:
                self.notes.refuse(
                    f"the learning-rate schedule `{class_name}` sets `{arg}={value!r}`, "
                    "which Keras 2.9's lacks",
                    DROP_OPTIMIZER_HINT,
                )
        return {"class_name": class_name, "config": kept}

    # -- losses and metrics -------------------------------------------------------------------

    def loss(self, value: Any, place: Place) -> Any:
        converted = self._object("loss", value, "loss")
        if converted is None:
            self.notes.refuse(
                f"the loss {_label(value)} has no Keras 2.9 equivalent", DROP_OPTIMIZER_HINT
            )
            return value
        config = converted.get("config") if isinstance(converted, dict) else None
        reduction = config.get("reduction") if isinstance(config, dict) else None
        if isinstance(config, dict) and reduction not in (None, *self.rules.loss_reductions):
            self.notes.drop(
                f"loss {_label(value)}", "reduction", config.pop("reduction"), "training"
            )
        return converted

    def metric(self, value: Any, place: Place) -> Any:
        if isinstance(value, str) and value in UNDESERIALIZED_METRICS:
            return value
        converted = self._object("metric", value, "metric")
        if converted is None:
            self.notes.drop("metrics", _label(value), value, "training")
        return converted

    def _object(self, category: Category, value: Any, where: str) -> Any:
        """A loss or metric as 2.9 resolves it, arguments it lacks dropped; None if 2.9 has none."""
        if isinstance(value, str):
            return value if self.knowledge.resolve(category, value) is not None else None
        if not isinstance(value, dict):
            return value
        class_name = str(value.get("class_name"))
        known = self.knowledge.resolve(category, class_name)
        if known is None:
            return None
        out = {k: v for k, v in value.items() if k not in self.rules.serialization_keys}
        config = value.get("config")
        if isinstance(config, dict):
            config = self.gate.training_object(
                category, class_name, config, f"{where} {class_name}"
            )
            out["config"] = config
        if isinstance(config, dict) and known.is_class and known.raises_on_unknown_args:
            kept = {}
            for arg, item in config.items():
                if arg in known.args:
                    kept[arg] = item
                else:
                    neutral = self.rules.is_neutral_loss_or_metric_arg(arg, item)
                    effect: Effect = "none" if neutral else "training"
                    self.notes.drop(f"{where} {class_name}", arg, item, effect)
            out["config"] = kept
        return out


def _settings(serialized: Json) -> Json:
    """The `config` of a serialized object; none when it holds something else."""
    config = serialized.get("config")
    return config if isinstance(config, dict) else {}


def _label(value: Any) -> str:
    if isinstance(value, dict):
        return f"`{value.get('class_name')}`"
    return f"`{value}`"
