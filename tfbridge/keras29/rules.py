"""Convert's own decisions (rules.json, beside this module) next to what Keras 2.9 accepts (the
knowledge file)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from tfbridge.keras29.knowledge import Knowledge, load_knowledge
from tfbridge.keras29.semantics import KERAS3_PREFIX
from tfbridge.keras29.walker import SERIALIZATION_KEYS

RULES_FILE = Path(__file__).with_name("rules.json")


@dataclass(frozen=True)
class Rules:
    knowledge: Knowledge
    data: dict[str, Any]

    @property
    def serialization_keys(self) -> frozenset[str]:
        return frozenset(SERIALIZATION_KEYS)

    def renamed_args(self, class_name: str) -> dict[str, str]:
        renamed: dict[str, str] = self.data["renamed_layer_args"].get(class_name, {})
        return renamed

    def also_accepted(self, class_name: str) -> frozenset[str]:
        return frozenset(self.data["also_accepted_layer_args"].get(class_name, []))

    def is_neutral_layer_arg(self, name: str, value: Any) -> bool:
        return value is None or _listed(self.data["neutral_layer_args"].get(name), value)

    def is_neutral_in_context(self, name: str, layer_config: dict[str, Any]) -> bool:
        """True when `name` does nothing given the layer's other arguments (e.g. fill_mode while
        pad_to_aspect_ratio is false)."""
        conditions = self.data["neutral_layer_args_when"].get(name)
        if not isinstance(conditions, dict):
            return False
        return all(_listed(values, layer_config.get(other)) for other, values in conditions.items())

    def renamed_activation(self, name: str) -> str | None:
        renamed = self.data["renamed_activations"].get(name)
        return renamed if isinstance(renamed, str) and not name.startswith("_") else None

    def measured_layer_change(
        self, line: str | None, class_name: str, config: dict[str, Any]
    ) -> str | None:
        """Why a layer of a Keras 3 line predicts otherwise in 2.9 where the semantics table's
        probes did not show it (measured on real models), or None."""
        if line is None or not line.startswith(KERAS3_PREFIX):
            return None
        rule = self.data["keras3_changed_layers"].get(class_name)
        if not isinstance(rule, dict):
            return None
        when: dict[str, list[Any]] = rule["when"]
        if all(_listed(values, config.get(arg)) for arg, values in when.items()):
            return str(rule["why"])
        return None

    def lookup_int_dtype(self, class_name: str) -> str | None:
        rule = self.data["lookup_int_dtype"]
        return str(rule["dtype"]) if class_name in rule["classes"] else None

    def added_layer_args(self, class_name: str) -> dict[str, Any]:
        added: dict[str, Any] = self.data["added_layer_args"].get(class_name, {})
        return added if not class_name.startswith("_") else {}

    def redundant_layer_args(self, class_name: str) -> dict[str, str]:
        """{argument: the argument that makes it redundant once set}."""
        redundant: dict[str, str] = self.data["redundant_layer_args"].get(class_name, {})
        return redundant if not class_name.startswith("_") else {}

    @property
    def autocast_layer_classes(self) -> frozenset[str]:
        """Layers that only cast their input, as a Keras 2.9 layer's autocast does itself."""
        return frozenset(self.data["autocast_layers"]["classes"])

    def keras3_operation(self, class_name: str) -> dict[str, Any] | None:
        """How Keras 2.9 writes a Keras 3 operation layer (its TFOpLambda function), or None."""
        operation = self.data["keras3_operations"].get(class_name)
        return operation if isinstance(operation, dict) and not class_name.startswith("_") else None

    @property
    def input_structure_layers(self) -> frozenset[str]:
        """Layers whose Keras 2.9 nodes keep the call's input structure (a lone tensor bare)."""
        return frozenset(self.data["input_structure_layers"]["classes"])

    @property
    def none_call_kwargs(self) -> frozenset[str]:
        """Call arguments that, set to None, say nothing Keras 2.9 needs (masks)."""
        return frozenset(self.data["none_call_kwargs"]["names"])

    def positional_call_args(self, class_name: str) -> list[str]:
        names: list[str] = self.data["positional_call_args"].get(class_name, [])
        return names if not class_name.startswith("_") else []

    def optimizer_wrapper(self, class_name: str) -> dict[str, Any] | None:
        wrapper = self.data["optimizers"]["wrappers"].get(class_name)
        return wrapper if isinstance(wrapper, dict) and not class_name.startswith("_") else None

    def is_inference_inactive(self, class_name: str) -> bool:
        return class_name in self.data["inference_inactive_layers"]

    @property
    def training_only_categories(self) -> frozenset[str]:
        return frozenset(self.data["training_only_categories"])

    @property
    def dtype_policy_classes(self) -> frozenset[str]:
        return frozenset(self.data["dtype_policy_classes"])

    @property
    def plain_dtypes(self) -> frozenset[str]:
        return frozenset(self.data["plain_dtypes"])

    def mapped_optimizer(self, lowercase_name: str) -> str | None:
        mapped: str | None = self.data["optimizers"]["mapped"].get(lowercase_name)
        return mapped

    def is_neutral_optimizer_arg(self, name: str, value: Any, config: dict[str, Any]) -> bool:
        switch = self.data["optimizers"]["neutral_when_off"].get(name)
        if isinstance(switch, str) and config.get(switch) is False:
            return True
        return value is None or _listed(self.data["optimizers"]["neutral_args"].get(name), value)

    def is_neutral_loss_or_metric_arg(self, name: str, value: Any) -> bool:
        return value is None or name in self.data["neutral_loss_and_metric_args"]

    @property
    def training_config_keys(self) -> tuple[str, ...]:
        return tuple(self.data["training_config_keys"])

    @property
    def loss_reductions(self) -> frozenset[str]:
        return frozenset(self.data["loss_reductions"])


def _listed(values: list[Any] | None, value: Any) -> bool:
    # `True == 1` in Python; compare types too so `1` is not taken for `true`.
    return values is not None and any(type(v) is type(value) and v == value for v in values)


@lru_cache(maxsize=1)
def load_rules() -> Rules:
    with RULES_FILE.open(encoding="utf-8") as handle:
        return Rules(knowledge=load_knowledge(), data=json.load(handle))
