"""Check a model's config against a question's contract (input shape, output shape, activation).

Static and best effort: input shapes come from the input layers' batch shapes, the output from
the last layer (units of a final Dense-like layer, its activation). The runtime check confirms
shapes on real outputs when it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tfbridge.contract import Contract, Shape
from tfbridge.verify.findings import Finding

BATCH_SHAPE_KEYS = ("batch_input_shape", "batch_shape")
ACTIVATION_LAYERS = {"Softmax": "softmax", "ReLU": "relu"}


@dataclass(frozen=True)
class Signature:
    """What the config says the model takes and gives (shapes without the batch dimension)."""

    input_shapes: tuple[Shape, ...]
    output_units: int | None
    output_activation: str | None
    output_layer: str | None


def model_signature(model_config: Any) -> Signature:
    return Signature(
        input_shapes=tuple(_input_shapes(model_config)),
        output_units=_output_units(_last_layer(model_config)),
        output_activation=_activation(_last_layer(model_config)),
        output_layer=_layer_name(_last_layer(model_config)),
    )


def check_contract(contract: Contract, signature: Signature) -> list[Finding]:
    findings: list[Finding] = []
    if contract.input_shape is not None:
        findings.append(_input_finding(contract.input_shape, signature))
    if contract.output_shape is not None:
        findings.append(_output_finding(contract.output_shape, signature))
    if contract.output_activation:
        findings.append(_activation_finding(contract.output_activation, signature))
    return findings


def shapes_match(expected: Shape, actual: Shape) -> bool:
    """None on either side matches any size; ranks must agree."""
    return len(expected) == len(actual) and all(
        e is None or a is None or e == a for e, a in zip(expected, actual, strict=True)
    )


def format_shape(shape: Shape) -> str:
    sizes = ["None" if d is None else str(d) for d in shape]
    return "(" + ", ".join(sizes) + ("," if len(sizes) == 1 else "") + ")"


def _input_finding(expected: Shape, signature: Signature) -> Finding:
    if not signature.input_shapes:
        return Finding("contract", "warn", "the config records no input shape to compare")
    if len(signature.input_shapes) != 1:
        return Finding(
            "contract",
            "fail",
            f"the model has {len(signature.input_shapes)} inputs; "
            f"the contract expects one of shape {format_shape(expected)}",
            "give the model a single input",
        )
    actual = signature.input_shapes[0]
    if shapes_match(expected, actual):
        return Finding("contract", "pass", f"input shape {format_shape(actual)} matches")
    return Finding(
        "contract",
        "fail",
        f"input shape {format_shape(actual)} differs from the contract's {format_shape(expected)}",
        f"build the model with input_shape={format_shape(expected)}",
    )


def _output_finding(expected: Shape, signature: Signature) -> Finding:
    if signature.output_units is None:
        return Finding(
            "contract",
            "warn",
            "the output shape cannot be told from the config; the runtime check compares it",
        )
    if expected and expected[-1] in (None, signature.output_units):
        return Finding(
            "contract",
            "pass",
            f"output size {signature.output_units} (layer '{signature.output_layer}') matches",
        )
    return Finding(
        "contract",
        "fail",
        f"output size {signature.output_units} (layer "
        f"'{signature.output_layer}') differs from the contract's "
        f"{format_shape(expected)}",
        f"end the model with {_last(expected)} units",
    )


def _last(shape: Shape) -> int | None:
    return shape[-1] if shape else None


def _activation_finding(expected: str, signature: Signature) -> Finding:
    actual = signature.output_activation
    if actual is None:
        return Finding("contract", "warn", "the output activation cannot be told from the config")
    if actual == expected:
        return Finding("contract", "pass", f"output activation `{actual}` matches")
    return Finding(
        "contract",
        "fail",
        f"output activation `{actual}` (layer "
        f"'{signature.output_layer}') differs from the contract's `{expected}`",
        f"use activation='{expected}' in the last layer",
    )


def _config(entry: Any) -> Any:
    return entry.get("config") if isinstance(entry, dict) else None


def _inner_layers(entry: Any) -> list[Any]:
    config = _config(entry)
    if isinstance(config, list):
        return config
    if isinstance(config, dict) and isinstance(config.get("layers"), list):
        return list(config["layers"])
    return []


def _input_shapes(entry: Any) -> list[Shape]:
    config = _config(entry)
    layers = _inner_layers(entry)
    if isinstance(config, dict) and "input_layers" in config:
        names = {str(ref[0]) for ref in _refs(config["input_layers"])}
        inputs = [layer for layer in layers if _layer_name(layer) in names]
        return [shape for layer in inputs if (shape := _batch_shape(layer)) is not None]
    if layers:
        first = layers[0]
        shape = _batch_shape(first)
        if shape is None and _inner_layers(first):
            return _input_shapes(first)
        return [] if shape is None else [shape]
    shape = _batch_shape(entry)
    return [] if shape is None else [shape]


def _refs(value: Any) -> list[list[Any]]:
    """Keras writes [[name, node, tensor], ...], or a bare [name, node, tensor] for one."""
    if isinstance(value, list) and value and isinstance(value[0], str):
        return [value]
    if not isinstance(value, list):
        return []
    return [ref for ref in value if isinstance(ref, list) and ref]


def _batch_shape(layer: Any) -> Shape | None:
    config = _config(layer)
    if not isinstance(config, dict):
        return None
    for key in BATCH_SHAPE_KEYS:
        shape = config.get(key)
        if isinstance(shape, list) and shape and all(_is_size(d) for d in shape[1:]):
            return tuple(None if d is None else int(d) for d in shape[1:])
    return None


def _is_size(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def _last_layer(entry: Any) -> Any:
    config = _config(entry)
    layers = _inner_layers(entry)
    if not layers:
        return entry
    if isinstance(config, dict) and "output_layers" in config:
        refs = _refs(config["output_layers"])
        named = [layer for layer in layers if refs and _layer_name(layer) == refs[-1][0]]
        last = named[0] if named else layers[-1]
    else:
        last = layers[-1]
    return _last_layer(last) if _inner_layers(last) else last


def _layer_name(layer: Any) -> str | None:
    config = _config(layer)
    name = config.get("name") if isinstance(config, dict) else None
    if name is None and isinstance(layer, dict):
        name = layer.get("name")
    return None if name is None else str(name)


def _output_units(layer: Any) -> int | None:
    config = _config(layer)
    if not isinstance(config, dict):
        return None
    for key in ("units", "filters", "output_dim"):
        if isinstance(config.get(key), int):
            return int(config[key])
    inner = config.get("layer")
    return _output_units(inner) if isinstance(inner, dict) else None


def _activation(layer: Any) -> str | None:
    if not isinstance(layer, dict):
        return None
    if layer.get("class_name") in ACTIVATION_LAYERS:
        return ACTIVATION_LAYERS[str(layer["class_name"])]
    config = _config(layer)
    if not isinstance(config, dict):
        return None
    activation = config.get("activation")
    if isinstance(activation, dict):
        activation = activation.get("class_name")
    return None if activation is None else str(activation)
