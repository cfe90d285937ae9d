"""Rewrite a model config (Keras 2.10-2.15, tf-keras, Keras 3) into the dialect Keras 2.9 loads.

The walk (keras29.walk) goes through the layers, nodes and objects; this visitor rewrites each.
"""

from __future__ import annotations

from typing import Any

from tfbridge.convert.lambdas import check_lambda
from tfbridge.convert.nodes import is_keras3_node, keras3_node_to_legacy, wrap_single_endpoint
from tfbridge.convert.report import Effect, Notes
from tfbridge.convert.semantics_gate import REPLACE_HINT, SemanticsGate
from tfbridge.keras29.rules import Rules
from tfbridge.keras29.visitor import Leaf, Place, Visitor
from tfbridge.keras29.walk import MAX_WALK_DEPTH
from tfbridge.keras29.walker import MODEL_CLASSES

Json = dict[str, Any]


class ConfigRewriter(Visitor):
    """The walk's transforming visitor over a `model_config`: rewrites each serialized layer and
    object from its newer dialect (the walk goes inside what it returns); reports into `notes`."""

    def __init__(self, rules: Rules, notes: Notes, gate: SemanticsGate) -> None:
        self.rules = rules
        self.knowledge = rules.knowledge
        self.notes = notes
        self.gate = gate

    # -- layers -------------------------------------------------------------------------------

    def layer(self, entry: Json, place: Place) -> Any:
        class_name = place.class_name
        config = entry.get("config")
        where = _layer_where(place)
        out = self._strip_serialization_keys(entry)
        if not self._known_layer_class(entry, class_name, where) or not isinstance(config, dict):
            return Leaf(out)
        if class_name in MODEL_CLASSES:
            out["config"] = dict(config)
            if "dtype" in config:
                out["config"]["dtype"] = self.dtype_policy(config["dtype"], where)
            return out
        if class_name == "Lambda":
            config = check_lambda(config, where, self.notes)
        changed = self.rules.measured_layer_change(self.gate.line, class_name, config)
        if changed:
            self.notes.needs_proof(f"{where}: {changed}")
        config = self.gate.layer(class_name, config, where)
        out["config"] = self._layer_args(class_name, config, where)
        return out

    def layer_done(self, entry: Any, place: Place) -> Any:
        config = entry.get("config") if isinstance(entry, dict) else None
        if not isinstance(config, dict):
            return entry
        if place.class_name in MODEL_CLASSES:
            self._wrap_endpoints(config)
        else:
            self._lookup_dtype(place.class_name, config, _layer_where(place))
            self._complete_args(place.class_name, config, _layer_where(place))
        return entry

    def inbound_nodes(self, nodes: Any, place: Place) -> Any:
        if not isinstance(nodes, list):
            return [] if nodes is None else nodes
        converted = []
        for node in nodes:
            if is_keras3_node(node):
                positional = self.rules.positional_call_args(place.class_name)
                legacy, problem = keras3_node_to_legacy(
                    node,
                    set(place.nested_models),
                    positional,
                    self.rules.none_call_kwargs,
                    bare_single_input=place.class_name in self.rules.input_structure_layers,
                )
                if problem:
                    self.notes.refuse(f"layer `{place.name}` {problem}")
                converted.append(legacy)
                self.notes.change("Keras 3 inbound nodes rewritten as Keras 2.9 nested lists")
            else:
                converted.append(node)
        return converted

    def argument(self, value: Any, place: Place) -> Any:
        where = _layer_where(place.parent) if place.parent else place.where
        if place.category == "dtype_policy":
            return self.dtype_policy(value, where)
        if place.category == "activation":
            return self._activation(value, where)
        if place.category in self.rules.training_only_categories:
            return self._training_only_object(str(place.category), place.key, value, where)
        return value

    def too_deep(self, value: Any, place: Place) -> Any:
        self.notes.refuse(f"{place.where} is nested more than {MAX_WALK_DEPTH} levels deep")
        return value

    def _known_layer_class(self, serialized: Json, class_name: str, where: str) -> bool:
        registered = serialized.get("registered_name")
        module = serialized.get("module")
        custom = (isinstance(registered, str) and ">" in registered) or (
            isinstance(module, str) and not module.startswith("keras")
        )
        if not custom and self.knowledge.resolve("layer", class_name) is not None:
            return True
        if custom:
            reason = f"{where} is a custom class ({registered or module}), its code not in the file"
        elif isinstance(module, str):
            reason = f"{where} is a layer added after Keras 2.9, which has no equivalent"
        else:
            reason = f"{where} is not a Keras 2.9 layer (a custom class, or one added after 2.9)"
        self.notes.refuse(reason, REPLACE_HINT)
        return False

    def _layer_args(self, class_name: str, config: Json, where: str) -> Json:
        known = self.knowledge.resolve("layer", class_name)
        renamed = self.rules.renamed_args(class_name)
        accepted = set(known.args) if known else set()
        accepted |= self.rules.also_accepted(class_name) | set(renamed.values())
        raises = known.raises_on_unknown_args if known else True
        out: Json = {}
        for arg, value in config.items():
            if arg in renamed:
                out[renamed[arg]] = value
                self.notes.change(f"{class_name}: `{arg}` renamed to `{renamed[arg]}`")
            elif arg in accepted or not raises:
                out[arg] = value
            elif self.rules.is_neutral_layer_arg(arg, value) or self.rules.is_neutral_in_context(
                arg, config
            ):
                self.notes.drop(where, arg, value, "none")
            elif self.rules.is_inference_inactive(class_name):
                self.notes.drop(where, arg, value, "training")
            else:
                self.notes.refuse(
                    f"{where} sets `{arg}={value!r}`, which Keras 2.9's {class_name} lacks; "
                    "dropping it would change what the layer computes",
                    REPLACE_HINT,
                )
        return out

    def _complete_args(self, class_name: str, config: Json, where: str) -> None:
        """Arguments 2.9 requires that newer Keras leaves out; ones that 2.9 refuses as a pair."""
        for arg, value in self.rules.added_layer_args(class_name).items():
            if arg not in config:
                config[arg] = value
                self.notes.change(f"{class_name}: `{arg}={value!r}` added, as Keras 2.9 needs it")
        for arg, other in self.rules.redundant_layer_args(class_name).items():
            if config.get(arg) is not None and config.get(other) is not None:
                self.notes.drop(where, arg, config.pop(arg), "none")

    def _lookup_dtype(self, class_name: str, config: Json, where: str) -> None:
        """Keras 3 writes a lookup's float compute dtype where 2.9 wants its int output dtype."""
        int_dtype = self.rules.lookup_int_dtype(class_name)
        dtype = config.get("dtype")
        if int_dtype is None or config.get("output_mode", "int") != "int":
            return
        if isinstance(dtype, str) and dtype.startswith(("float", "bfloat")):
            config["dtype"] = int_dtype
            self.notes.change(
                f"{where}: dtype {dtype!r} (Keras 3's compute dtype) written as its output "
                f"dtype {int_dtype!r}, which Keras 2.9 requires with output_mode='int'"
            )

    # -- values -------------------------------------------------------------------------------

    def dtype_policy(self, value: Any, where: str) -> Any:
        if not isinstance(value, dict):
            return value
        class_name = value.get("class_name")
        config = value.get("config")
        policy = config.get("name") if isinstance(config, dict) else None
        known_class = isinstance(class_name, str) and class_name in self.rules.dtype_policy_classes
        if not known_class or not isinstance(policy, str):
            self.notes.refuse(f"{where} has a dtype policy Keras 2.9 cannot read: {value!r}")
            return value
        if policy in self.rules.plain_dtypes:
            self.notes.change(f"dtype policy objects written as plain dtype strings ({policy})")
            return policy
        if policy.startswith("mixed_"):
            return {"class_name": "Policy", "config": {"name": policy}}
        self.notes.refuse(f"{where} uses the dtype policy `{policy}`, which Keras 2.9 lacks")
        return value

    def _activation(self, value: Any, where: str) -> Any:
        if isinstance(value, dict):
            config = value.get("config")
            name = config if isinstance(config, str) else None
            if value.get("class_name") == "function" and name:
                value = name
            elif self.knowledge.resolve("activation", str(value.get("class_name"))) is not None:
                return self._strip_serialization_keys(value)
        if isinstance(value, str):
            if self.gate.activation(value, where):
                return value
            renamed = self.gate.activation_name(value) or self.rules.renamed_activation(value)
            if renamed is not None:
                self.notes.change(f"activation `{value}` written as Keras 2.9's `{renamed}`")
                value = renamed
        if isinstance(value, str) and self.knowledge.resolve("activation", value) is not None:
            return value
        self.notes.refuse(
            f"{where} uses the activation {value!r}, which Keras 2.9 lacks", REPLACE_HINT
        )
        return value

    def _training_only_object(self, category: str, arg: str, value: Any, where: str) -> Any:
        """Initializers, regularizers, constraints: never part of what a loaded model computes."""
        if not isinstance(value, dict) or "class_name" not in value:
            return value
        effect: Effect = "none" if category == "initializer" else "training"
        out = self._strip_serialization_keys(value)
        class_name = str(value["class_name"])
        known = self.knowledge.resolve(category, class_name)  # type: ignore[arg-type]
        if known is None:
            self.notes.drop(where, arg, class_name, effect)
            return None
        config = value.get("config")
        if isinstance(config, dict):
            config = self.gate.training_object(category, class_name, config, f"{where} {arg}")
            out["config"] = config
        if isinstance(config, dict) and known.raises_on_unknown_args:
            kept = {}
            for key, item in config.items():
                if key in known.args:
                    kept[key] = item
                elif item is not None:
                    self.notes.drop(f"{where} {arg}", key, item, effect)
            out["config"] = kept
        return out

    def _strip_serialization_keys(self, serialized: Json) -> Json:
        stripped = {k: v for k, v in serialized.items() if k not in self.rules.serialization_keys}
        if len(stripped) != len(serialized):
            self.notes.change("Keras 3 keys module/registered_name/build_config left out")
        return stripped

    def _wrap_endpoints(self, config: Json) -> None:
        for key in ("input_layers", "output_layers"):
            if key in config:
                wrapped = wrap_single_endpoint(config[key])
                if wrapped is not config[key]:
                    self.notes.change(
                        f"lone `{key}` entry wrapped in a list, as Keras 2.9 writes it"
                    )
                config[key] = wrapped


def _layer_where(place: Place) -> str:
    return f"layer `{place.name}` ({place.class_name})"
