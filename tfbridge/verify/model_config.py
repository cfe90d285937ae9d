"""Emulate Keras 2.9's `model_from_config` on a saved `model_config`, against the knowledge file.

The walk (keras29.walk) goes through the config as `keras.layers.deserialize` does (Sequential,
Functional, wrappers, RNN cells, nested initializers/regularizers/constraints/activations/dtype
policies); this visitor records every place where the real 2.9 constructor would raise. Never
imports TensorFlow, never runs model code.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from tfbridge.keras29.knowledge import Category, Knowledge, Known
from tfbridge.keras29.lambda_code import inspect_lambda
from tfbridge.keras29.lambdas import bytecode_doubt, bytecode_problem
from tfbridge.keras29.visitor import Leaf, Place, Visitor
from tfbridge.keras29.walk import MAX_WALK_DEPTH
from tfbridge.keras29.walker import MODEL_CLASSES, SERIALIZATION_KEYS
from tfbridge.verify.findings import (
    FIX_COMPILE,
    FIX_CONVERT,
    FIX_CUSTOM,
    FIX_SAVE_H5,
    Problems,
    Stage,
    Writer,
)

FUNCTIONAL_KEYS = ("name", "layers", "input_layers", "output_layers")
VOCABULARY_LAYERS = ("TextVectorization", "StringLookup", "IntegerLookup")
FIX_LAMBDA = "replace the Lambda with built-in layers, or retrain with Python 3.8"
FIX_UNPROVEN_LAMBDA = (
    "run `tfbridge fingerprint MODEL` where it was trained, then `tfbridge verify --trust` to "
    "compare predictions; or replace the Lambda with built-in layers, or retrain with Python 3.8"
)


class ModelConfigEmulator(Visitor):
    """The walk's reporting visitor over a `model_config`: records where Keras 2.9 would fail
    and hands every object back unchanged."""

    def __init__(self, knowledge: Knowledge, writer: Writer, problems: Problems) -> None:
        self.knowledge = knowledge
        self.writer = writer
        self.problems = problems

    def not_a_model(self, value: Any, place: Place) -> Any:
        text = f"the `model_config` attribute holds {_json_kind(value)}, not a Keras model config"
        self._fail("model", "", text, FIX_SAVE_H5)
        return value

    def malformed_layer(self, value: Any, place: Place) -> Any:
        self._fail("model", place.where, "a layer entry lacks `class_name`/`config`", FIX_CONVERT)
        return value

    def too_deep(self, value: Any, place: Place) -> Any:
        text = (
            f"nested more than {MAX_WALK_DEPTH} levels deep: no Keras model is, and Keras 2.9 "
            "would exhaust its stack"
        )
        self._fail("model", place.where, text, FIX_SAVE_H5)
        return value

    def layer(self, entry: dict[str, Any], place: Place) -> Any:
        config = entry["config"]
        self._note_keras3_entry(entry)
        known = self.knowledge.resolve("layer", place.class_name)
        if known is None:
            self._unknown_layer_class(entry, place.class_name, place.where)
            return Leaf(entry)
        if place.class_name == "Sequential":
            return self._sequential(entry, config, place.where)
        if place.class_name in MODEL_CLASSES:
            return self._functional(entry, config, place.where)
        if not isinstance(config, dict):
            self._fail("model", place.where, "its config is not a dict", FIX_CONVERT)
            return Leaf(entry)
        self._arguments(known, config, place.where, "model")
        return entry

    def layer_done(self, entry: Any, place: Place) -> Any:
        known = self.knowledge.resolve("layer", place.class_name)
        config = entry.get("config") if isinstance(entry, dict) else None
        if known is not None and isinstance(config, dict) and place.class_name not in MODEL_CLASSES:
            self._plain_layer_state(known, config, place.where)
        return entry

    def inbound_nodes(self, nodes: Any, place: Place) -> Any:
        where = place.parent.where if place.parent else place.where
        if not isinstance(nodes, list):
            self._fail("model", where, "a layer entry lacks `inbound_nodes`", FIX_CONVERT)
            return nodes
        if any(isinstance(node, dict) or not isinstance(node, list) for node in nodes):
            text = (
                f"its layers' `inbound_nodes` are dicts ({self.writer.label} format); "
                "Keras 2.9 expects [layer, node, tensor] lists"
            )
            self._fail("model", where, text, FIX_CONVERT)
        return nodes

    def argument(self, value: Any, place: Place) -> Any:
        if place.category == "dtype_policy" and not isinstance(value, dict):
            return value  # a plain dtype string
        if place.category is not None and place.parent is not None:
            self.reference(place.category, value, place.parent.where, "model", place.key)
        return value

    def _unknown_layer_class(self, entry: dict[str, Any], class_name: str, where: str) -> None:
        module = str(entry.get("module") or "")
        if module.startswith("keras") and not module.startswith("keras.src.saving"):
            text = (
                f"`{class_name}` is a layer of {self.writer.label} that Keras 2.9 does not "
                "have (Unknown layer)"
            )
            self._fail("model", where, text, FIX_CONVERT)
        else:
            origin = f" from module `{module}`" if module else ""
            registered = entry.get("registered_name")
            named = f" (registered as `{registered}`)" if registered else ""
            text = (
                f"custom class `{class_name}`{origin}{named} is unknown to Keras 2.9: the "
                "grader's load_model(path) fails with 'Unknown layer'"
            )
            self._fail("model", where, text, FIX_CUSTOM)

    def _sequential(self, entry: dict[str, Any], config: Any, where: str) -> Any:
        layers = (
            config
            if isinstance(config, list)
            else (config.get("layers") if isinstance(config, dict) else None)
        )
        if not isinstance(layers, list):
            self._fail("model", where, "Sequential config has no `layers` list", FIX_CONVERT)
            return Leaf(entry)
        self._unique_names(layers, where)
        return entry

    def _functional(self, entry: dict[str, Any], config: Any, where: str) -> Any:
        if not isinstance(config, dict) or not all(key in config for key in FUNCTIONAL_KEYS):
            text = (
                "a subclassed model's config: Keras 2.9 would call the Model constructor "
                "with it and fail"
            )
            self._fail("model", where, text, "save a Sequential or Functional model instead")
            return Leaf(entry)
        if not isinstance(config["layers"], list):
            self._fail("model", where, "its `layers` is not a list", FIX_CONVERT)
            return Leaf(entry)
        self._unique_names(config["layers"], where)
        return entry

    def _unique_names(self, layers: list[Any], where: str) -> None:
        """Keras 2.9 builds the model's graph only when every layer name in it is unique."""
        counts = Counter(
            str(layer["config"]["name"])
            for layer in layers
            if isinstance(layer, dict)
            and isinstance(layer.get("config"), dict)
            and "name" in layer["config"]
        )
        for name, count in counts.items():
            if count > 1:
                text = (
                    f"the layer name '{name}' is used {count:,} times: Keras 2.9 fails with "
                    "'All layer names should be unique'"
                )
                self._fail("model", where, text, FIX_SAVE_H5)

    def _plain_layer_state(self, known: Known, config: dict[str, Any], where: str) -> None:
        """What Keras 2.9 runs or restores once the layer and all inside it are built."""
        if known.name in ("Lambda",):
            self._lambda(config, where)
        if config.get("stateful") is True:
            text = (
                "a stateful layer: its recurrent state is not saved in .h5 and starts from "
                "zeros in the exam"
            )
            self.problems.add(
                "state",
                "warn",
                where,
                text,
                "reset states before predicting, or use stateful=False for the submitted model",
            )
        if known.name in VOCABULARY_LAYERS and not config.get("vocabulary"):
            text = (
                "its vocabulary is not in the config and `.h5` cannot hold an adapted "
                "lookup table: in the exam it would load empty and predict garbage"
            )
            hint = (
                "pass the vocabulary as a list (`vocabulary=`) when building the layer, or "
                "vectorize the text outside the model"
            )
            self._fail("state", where, text, hint)

    def _arguments(self, known: Known, config: dict[str, Any], where: str, stage: Stage) -> None:
        for argument in known.unknown_args(config):
            text = (
                f"argument `{argument}` is not accepted by Keras 2.9's {known.name} "
                f"(written by {self.writer.label})"
            )
            self._fail(stage, where, text, _fix(stage))
        for argument in sorted(known.required - set(config)):
            self._fail(stage, where, f"required argument `{argument}` is missing", _fix(stage))

    def reference(
        self, category: Category, value: Any, where: str, stage: Stage, key: str = ""
    ) -> Known | None:
        """A name or {class_name, config} that Keras 2.9 resolves with `<category>.get`."""
        about = f"`{key}`: " if key else ""
        if value is None or isinstance(value, (int, float, bool)):
            return None
        if isinstance(value, str):
            known = self.knowledge.resolve(category, value)
            if known is None:
                text = f"{about}{category.replace('_', ' ')} `{value}` is unknown to Keras 2.9"
                self._fail(stage, where, text, _fix(stage))
            return known
        if not isinstance(value, dict) or "class_name" not in value:
            return None
        class_name = str(value["class_name"])
        known = self.knowledge.resolve(category, class_name)
        if known is None:
            text = (
                f"{about}{category.replace('_', ' ')} class `{class_name}` is unknown to "
                f"Keras 2.9 (written by {self.writer.label})"
            )
            self._fail(stage, where, text, _fix(stage))
            return None
        config = value.get("config")
        if isinstance(config, dict):
            self._arguments(known, config, f"{where} {about}".strip(": "), stage)
        return known

    def _lambda(self, config: dict[str, Any], where: str) -> None:
        function = config.get("function")
        kind = config.get("function_type")
        if kind == "function":
            text = (
                f"its function `{function}` is looked up by name and Keras 2.9 will not "
                "find it without custom_objects"
            )
            self._fail("model", where, text, FIX_CUSTOM)
            return
        if kind is None and isinstance(function, dict):
            # Keras 3 writes {"class_name": "__lambda__", "config": {"code": ...}} and no
            # `function_type`, which 2.9's Lambda.from_config pops without a default.
            text = (
                f"its function is stored in the {self.writer.label} format (no "
                "`function_type`): Keras 2.9 fails with KeyError: 'function_type'"
            )
            self._fail("model", where, text, FIX_CONVERT)
            inner = function.get("config")
            function = inner.get("code") if isinstance(inner, dict) else None
        elif kind != "lambda":
            return
        self._lambda_code(function, where)

    def _lambda_code(self, function: Any, where: str) -> None:
        code = inspect_lambda(function)
        failure = bytecode_problem(code, self.knowledge.python_opcodes)
        if failure:
            self._fail("model", where, failure, FIX_LAMBDA)
            return
        doubt = bytecode_doubt(code)
        if doubt:
            self.problems.add("code", "warn", where, doubt, FIX_UNPROVEN_LAMBDA)
            return
        detail = f" ({code.detail})" if code.detail else ""
        text = (
            f"loading runs its Python bytecode (layout of {code.writer}{detail}); only "
            "Python 3.8 bytecode is certain to work in the exam"
        )
        hint = "prefer built-in layers; load it only if you trust it (`--trust`)"
        self.problems.add("code", "warn", where, text, hint)

    def _note_keras3_entry(self, entry: dict[str, Any]) -> None:
        present = [key for key in SERIALIZATION_KEYS if key in entry]
        if present:
            keys = ", ".join(f"`{key}`" for key in present)
            text = (
                f"written in the Keras 3 config dialect ({keys}) by {self.writer.label}; "
                "Keras 2.9 ignores these keys"
            )
            self.problems.add("dialect", "warn", "", text, FIX_CONVERT)

    def _fail(self, stage: Stage, where: str, text: str, hint: str) -> None:
        self.problems.add(stage, "fail", where, text, hint)


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a JSON object without `class_name`"
    if isinstance(value, list):
        return "a JSON list"
    if isinstance(value, str):
        return "a JSON string"
    if isinstance(value, bool):
        return "a JSON boolean"
    return "JSON null" if value is None else "a JSON number"


def _fix(stage: Stage) -> str:
    return FIX_COMPILE if stage == "compile" else FIX_CONVERT
