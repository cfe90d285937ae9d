"""Structural sanity of a saved Keras model config: graph, nesting, shapes and sizes.

Pure functions over the parsed `model_config` (and, optionally, the structure of the stored
weights: layer group name -> weights with a name and a shape, never their data). They find what
TF 2.9's `load_model` would fail on, or never return from, before anything builds the model:

- a functional graph whose inbound nodes, `input_layers` or `output_layers` name a layer or a
  node that does not exist, or whose nodes form a cycle (TF 2.9 loops forever on a cycle);
- models nested deeper than `MAX_NESTING`;
- input shapes with a dimension that is not None or a positive int, or more than
  `MAX_SAMPLE_ELEMENTS` elements per sample;
- units/filters/output_dim that disagree with the stored kernel, and more layers that must hold
  weights than the file stores weights for.

Every walk uses an explicit stack or queue, so an untrusted depth cannot exhaust recursion.
Class names and arguments are the walker's and the model config emulator's business, not this.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tfbridge.keras29.walker import MODEL_CLASSES, nested_layers

# Models inside models (Sequential, Functional, wrappers, RNN cells) deeper than this are refused.
# Far above real models (the fixtures nest at most 3). Measured 2026-12-02 with TF 2.9.0 on nested
# Sequentials: 60 deep builds, predicts, saves and reloads; 100 deep kills the interpreter
# ("Fatal Python error: Cannot recover from stack overflow") when the model is first called.
MAX_NESTING = 32
# Known dims of one input sample, multiplied: 10^8 float32 elements are 400 MB per sample. The
# largest exam inputs (300x300x3 images, long text sequences) are below 10^6; the runtime check
# feeds sample batches of the input shape, so a bigger one would exhaust memory, not test a model.
MAX_SAMPLE_ELEMENTS = 10**8
SHAPE_KEYS = ("batch_input_shape", "batch_shape")
# class name -> (config key that sizes the last dimension, the weights it sizes)
LAST_DIMENSION = {
    "Dense": ("units", ("kernel", "bias")),
    "Conv1D": ("filters", ("kernel", "bias")),
    "Conv2D": ("filters", ("kernel", "bias")),
    "Conv3D": ("filters", ("kernel", "bias")),
    "Embedding": ("output_dim", ("embeddings",)),
}
REFUSED = "tfbridge refuses it"
SHOWN_NAMES = 5


@dataclass(frozen=True)
class StructureProblem:
    """`path` locates the offending part, e.g. `model_config.config.layers[3]`."""

    path: str
    message: str


class StoredWeight(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def shape(self) -> tuple[int, ...]: ...


WeightEntry = StoredWeight | tuple[str, tuple[int, ...]]
WeightStructure = Mapping[str, Sequence[WeightEntry]]


@dataclass(frozen=True)
class _Entry:
    layer: dict[str, Any]
    path: str
    depth: int  # how many models/wrappers enclose it


def structure_problems(
    model_config: Any, weights: WeightStructure | None = None
) -> list[StructureProblem]:
    """Every structural problem of `model_config` (the parsed JSON of the `model_config`
    attribute); with `weights`, also the sizes and layer counts they contradict."""
    problems: list[StructureProblem] = []
    if not isinstance(model_config, dict):
        return problems
    for entry in _layer_entries(model_config, problems):
        problems.extend(_input_shape_problems(entry))
        problems.extend(_layer_size_problems(entry))
        config = entry.layer.get("config")
        if entry.layer.get("class_name") in ("Functional", "Model") and isinstance(config, dict):
            problems.extend(functional_graph_problems(config, f"{entry.path}.config"))
    if weights is not None:
        problems.extend(weight_size_problems(model_config, weights))
        problems.extend(layer_count_problems(model_config, weights))
    return problems


def _layer_entries(
    model_config: dict[str, Any], problems: list[StructureProblem]
) -> Iterator[_Entry]:
    """Every serialized layer, depth first with an explicit stack; nothing below MAX_NESTING."""
    stack = [_Entry(model_config, "model_config", 0)]
    while stack:
        entry = stack.pop()
        yield entry
        children = list(_children(entry))
        if children and entry.depth >= MAX_NESTING:
            problems.append(_too_deep(entry))
            continue
        stack.extend(reversed(children))


def _children(entry: _Entry) -> Iterator[_Entry]:
    config = entry.layer.get("config")
    depth = entry.depth + 1
    if entry.layer.get("class_name") in MODEL_CLASSES:
        layers = config.get("layers") if isinstance(config, dict) else config
        for index, layer in enumerate(layers if isinstance(layers, list) else []):
            if isinstance(layer, dict):
                yield _Entry(layer, f"{entry.path}.config.layers[{index}]", depth)
        return
    if not isinstance(config, dict):
        return
    for key, value in config.items():
        for index, layer in enumerate(nested_layers(key, value)):
            suffix = f"[{index}]" if isinstance(value, list) else ""
            yield _Entry(layer, f"{entry.path}.config.{key}{suffix}", depth)


def _too_deep(entry: _Entry) -> StructureProblem:
    message = (
        f"models or wrappers nested more than {MAX_NESTING} deep: TF 2.9 overflows its stack "
        f"building deeply nested models (measured at 100); {REFUSED} (flatten the model)"
    )
    return StructureProblem(entry.path, message)


# ---- input shapes ------------------------------------------------------------------------------


def _input_shape_problems(entry: _Entry) -> Iterator[StructureProblem]:
    config = entry.layer.get("config")
    if not isinstance(config, dict):
        return
    for key in SHAPE_KEYS:
        if key in config:
            problem = input_shape_problem(config[key])
            if problem:
                yield StructureProblem(f"{entry.path}.config.{key}", problem)


def input_shape_problem(shape: Any) -> str:
    """Why TF 2.9 cannot build an input of `shape` (batch dim first), or "" if it can."""
    if shape is None:
        return ""
    if not isinstance(shape, list):
        return f"the input shape {shape!r} is not a list: TF 2.9 cannot build the input; {REFUSED}"
    bad = [dim for dim in shape if dim is not None and not _positive_int(dim)]
    if bad:
        return (
            f"the input shape {_shown(shape)} has dimension {bad[0]!r}, not None or a positive "
            f"integer: TF 2.9 fails building the input; {REFUSED}"
        )
    elements = 1
    for dim in shape[1:]:
        elements *= dim if dim is not None else 1
    if elements > MAX_SAMPLE_ELEMENTS:
        return (
            f"the input shape {_shown(shape)} holds {elements:,} elements per sample (over "
            f"{MAX_SAMPLE_ELEMENTS:,}): TF 2.9 would need more memory than any machine has to "
            f"feed it; {REFUSED}"
        )
    return ""


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _shown(shape: list[Any]) -> str:
    return "[" + ", ".join("None" if dim is None else repr(dim) for dim in shape) + "]"


def _layer_size_problems(entry: _Entry) -> Iterator[StructureProblem]:
    """units/filters/output_dim: a positive int (2.9 raises on a negative one, truncates a float)
    no bigger than MAX_SAMPLE_ELEMENTS (it is the size of one sample's output: building more
    would exhaust memory long before a weight is loaded)."""
    config = entry.layer.get("config")
    sizing = LAST_DIMENSION.get(str(entry.layer.get("class_name")))
    if sizing is None or not isinstance(config, dict) or sizing[0] not in config:
        return
    key, value = sizing[0], config[sizing[0]]
    if not _positive_int(value):
        why = (
            f"`{key}` is {value!r}, not a positive integer as Keras writes it: TF 2.9 fails on "
            "a negative one and builds another layer than written from 0, a fraction or a string"
        )
    elif value > MAX_SAMPLE_ELEMENTS:
        why = (
            f"`{key}` is {value:,} (over {MAX_SAMPLE_ELEMENTS:,}): TF 2.9 would try to allocate "
            "its weights and run out of memory"
        )
    else:
        return
    yield StructureProblem(f"{entry.path}.config.{key}", f"{why}; {REFUSED}")


# ---- functional graphs -------------------------------------------------------------------------

Node = tuple[str, int]  # (layer name, index of its inbound node)


def functional_graph_problems(config: dict[str, Any], path: str) -> list[StructureProblem]:
    """A Functional config's graph: references to layers and nodes that exist, no cycle."""
    layers = config.get("layers")
    if not isinstance(layers, list):
        return []
    node_counts = _node_counts(layers)
    problems: list[StructureProblem] = []
    dependencies: dict[Node, set[Node]] = {}
    for index, layer in enumerate(layers):
        name = _layer_name(layer)
        if name is None:
            continue
        where = f"{path}.layers[{index}].inbound_nodes"
        for node_index, node in enumerate(_inbound_nodes(layer), start=_first_node(layer)):
            needed = dependencies.setdefault((name, node_index), set())
            for reference in _node_references(node):
                problem = _reference_problem(reference, node_counts, f"layer '{name}'")
                if problem:
                    problems.append(StructureProblem(where, problem))
                elif reference is not None:
                    needed.add((reference[0], reference[1]))
    problems.extend(_endpoint_problems(config, path, node_counts))
    cycle = _nodes_in_cycles(dependencies)
    if cycle:
        problems.append(StructureProblem(f"{path}.layers", _cycle_message(cycle)))
    return problems


def _layer_name(layer: Any) -> str | None:
    if not isinstance(layer, dict):
        return None
    config = layer.get("config")
    name = layer.get("name", config.get("name") if isinstance(config, dict) else None)
    return name if isinstance(name, str) else None


def _inbound_nodes(layer: dict[str, Any]) -> list[Any]:
    nodes = layer.get("inbound_nodes")
    return nodes if isinstance(nodes, list) else []


def _node_counts(layers: list[Any]) -> dict[str, int]:
    """Layer name -> how many nodes it has in this model; an input layer has one, node 0."""
    return {
        name: max(1, _first_node(layer) + len(_inbound_nodes(layer)))
        for layer in layers
        if (name := _layer_name(layer)) is not None
    }


def _first_node(layer: dict[str, Any]) -> int:
    """The node index of a layer's first inbound node: 1 for a nested model already built on
    its own input (its node 0 is that, which 2.9 skips), else 0."""
    class_name = layer.get("class_name")
    if class_name in ("Functional", "Model"):
        return 1
    if class_name != "Sequential":
        return 0
    config = layer.get("config")
    inner = config.get("layers") if isinstance(config, dict) else config
    first = inner[0] if isinstance(inner, list) and inner else None
    if not isinstance(first, dict):
        return 0
    first_config = first.get("config")
    built = first.get("class_name") == "InputLayer" or (
        isinstance(first_config, dict) and "batch_input_shape" in first_config
    )
    return 1 if built else 0


def _node_references(node: Any) -> Iterator[list[Any] | None]:
    """The [layer, node, tensor, ...] entries of one Keras 2.x inbound node, None for an entry
    of another shape (a Keras 3 dict node is the walker's concern: not a 2.9 node at all).

    A node is a list of entries, or (a layer that keeps its input structure, TFOpLambda) one
    entry itself; 2.9 reads any list starting with a layer name as an entry."""
    if not isinstance(node, list):
        return
    if _is_entry(node):
        yield node
        return
    for reference in node:
        yield reference if _is_entry(reference) else None


def _is_entry(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and isinstance(value[0], str)


def _reference_problem(reference: list[Any] | None, node_counts: dict[str, int], user: str) -> str:
    if reference is None:
        return (
            f"{user} has an inbound node entry that is not [layer, node, tensor]: TF 2.9's "
            f"load_model cannot rebuild the graph; {REFUSED}"
        )
    name = reference[0]
    node = reference[1] if len(reference) > 1 else None
    if name not in node_counts:
        return (
            f"{user} takes its input from layer '{name}', which the model does not have: "
            f"TF 2.9's load_model fails rebuilding the graph; {REFUSED}"
        )
    if not isinstance(node, int) or isinstance(node, bool) or not 0 <= node < node_counts[name]:
        return (
            f"{user} uses node {node!r} of layer '{name}', which has {node_counts[name]} "
            f"node(s): TF 2.9's load_model cannot rebuild the graph; {REFUSED}"
        )
    return ""


def _endpoint_problems(
    config: dict[str, Any], path: str, node_counts: dict[str, int]
) -> Iterator[StructureProblem]:
    for key in ("input_layers", "output_layers"):
        value = config.get(key)
        references = _endpoint_references(value)
        if references is None:
            message = (
                f"`{key}` is not a list of [layer, node, tensor]: TF 2.9's load_model cannot "
                f"find the model's {key.split('_')[0]}s; {REFUSED}"
            )
            yield StructureProblem(f"{path}.{key}", message)
            continue
        for reference in references:
            problem = _reference_problem(reference, node_counts, f"`{key}`")
            if problem:
                yield StructureProblem(f"{path}.{key}", problem)


def _endpoint_references(value: Any) -> list[list[Any]] | None:
    """The [layer, node, tensor] triples of `input_layers`/`output_layers` (one triple alone,
    a list of them, or nested lists as 2.9 writes for structured inputs); None if malformed."""
    if not isinstance(value, list):
        return None
    found: list[list[Any]] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if not isinstance(item, list):
            return None
        if item and isinstance(item[0], str):
            found.append(item)
        else:
            stack.extend(item)
    return found


def _nodes_in_cycles(dependencies: dict[Node, set[Node]]) -> list[Node]:
    """Nodes that can never be built because they wait on each other (Kahn's algorithm)."""
    waiting = {node: len(needed) for node, needed in dependencies.items()}
    users: dict[Node, list[Node]] = {}
    for node, needed in dependencies.items():
        for dependency in needed:
            users.setdefault(dependency, []).append(node)
    ready = deque(node for node, count in waiting.items() if count == 0)
    ready.extend(node for node in users if node not in dependencies)
    while ready:
        for user in users.get(ready.popleft(), []):
            waiting[user] -= 1
            if waiting[user] == 0:
                ready.append(user)
    return sorted(node for node, count in waiting.items() if count > 0)


def _cycle_message(cycle: list[Node]) -> str:
    names = sorted({name for name, _ in cycle})
    shown = ", ".join(f"'{name}'" for name in names[:SHOWN_NAMES])
    more = f" and {len(names) - SHOWN_NAMES:,} more" if len(names) > SHOWN_NAMES else ""
    return (
        f"the layers {shown}{more} take their inputs from each other in a cycle: TF 2.9's "
        f"load_model loops forever on it; {REFUSED}"
    )


# ---- sizes against the stored weights ----------------------------------------------------------


def weight_size_problems(model_config: Any, weights: WeightStructure) -> list[StructureProblem]:
    """units/filters/output_dim against the last dimension of the stored kernel, bias or
    embeddings, for layer names used once in the whole config (so a nested model reusing a name
    cannot mislead it). TF 2.9 fails setting such a weight ('... not compatible')."""
    layers = _unique_layers(model_config)
    problems = []
    for group, stored in weights.items():
        for weight in stored:
            name, shape = _name_shape(weight)
            owner = name.rsplit("/", 2)[-2] if "/" in name else group
            found = layers.get(owner)
            problem = _size_mismatch(found[1], found[2], name, shape) if found else ""
            if found and problem:
                problems.append(StructureProblem(found[0], f"layer '{owner}' {problem}"))
    return problems


def _name_shape(weight: WeightEntry) -> tuple[str, tuple[int, ...]]:
    if isinstance(weight, tuple):
        return weight
    return weight.name, tuple(weight.shape)


def _size_mismatch(
    class_name: str, config: dict[str, Any], name: str, shape: tuple[int, ...]
) -> str:
    if class_name not in LAST_DIMENSION:
        return ""
    key, sized = LAST_DIMENSION[class_name]
    size = config.get(key)
    kind = name.rsplit("/", 1)[-1].split(":")[0]
    if kind not in sized or not isinstance(size, int) or isinstance(size, bool):
        return ""
    if shape and shape[-1] == size:
        return ""
    return (
        f"({class_name}, {key}={size:,}): weight `{name}` has shape {list(shape)}; TF 2.9 fails "
        f"setting it ('Layer weight shape ... not compatible'); {REFUSED}"
    )


def _unique_layers(model_config: Any) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """Layer name -> (path, class name, config), for names used once anywhere in the config."""
    found: dict[str, tuple[str, str, dict[str, Any]] | None] = {}
    entries = _layer_entries(model_config, []) if isinstance(model_config, dict) else iter(())
    for entry in entries:
        config = entry.layer.get("config")
        if isinstance(config, dict) and isinstance(config.get("name"), str):
            name = config["name"]
            class_name = str(entry.layer.get("class_name"))
            found[name] = None if name in found else (entry.path, class_name, config)
    return {name: layer for name, layer in found.items() if layer is not None}


def layer_count_problems(model_config: Any, weights: WeightStructure) -> list[StructureProblem]:
    """TF 2.9 loads weights layer by layer in order and fails ('Layer count mismatch') unless
    the model's layers that hold weights are as many as the file's groups that hold weights.
    Counted here: top-level layers that surely hold weights (Dense, Conv, Embedding, or a nested
    model holding one) against the stored groups with weights, and the stored groups against
    the top-level layers that could hold any."""
    layers = _top_level_layers(model_config)
    if layers is None:
        return []
    stored = sum(1 for group in weights.values() if group)
    certain = sum(1 for layer in layers if _surely_has_weights(layer))
    possible = sum(1 for layer in layers if layer.get("class_name") != "InputLayer")
    if certain <= stored <= possible:
        return []
    expected = certain if stored < certain else possible
    relation = "at least" if stored < certain else "at most"
    message = (
        f"the model has {relation} {expected:,} layers with weights but the file stores weights "
        f"for {stored:,}: TF 2.9's load_model fails ('Layer count mismatch'); {REFUSED}"
    )
    return [StructureProblem("model_config.config.layers", message)]


def _top_level_layers(model_config: Any) -> list[dict[str, Any]] | None:
    if not isinstance(model_config, dict) or model_config.get("class_name") not in MODEL_CLASSES:
        return None
    config = model_config.get("config")
    layers = config.get("layers") if isinstance(config, dict) else config
    if not isinstance(layers, list):
        return None
    return [layer for layer in layers if isinstance(layer, dict)]


def _surely_has_weights(layer: dict[str, Any]) -> bool:
    """A layer of a LAST_DIMENSION class anywhere inside `layer` (iteratively, depth-bounded)."""
    for entry in _layer_entries(layer, []):
        if entry.layer.get("class_name") in LAST_DIMENSION:
            return True
    return False


__all__ = [
    "LAST_DIMENSION",
    "MAX_NESTING",
    "MAX_SAMPLE_ELEMENTS",
    "StoredWeight",
    "StructureProblem",
    "WeightStructure",
    "functional_graph_problems",
    "input_shape_problem",
    "layer_count_problems",
    "structure_problems",
    "weight_size_problems",
]
