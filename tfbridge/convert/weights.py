"""Lay the weights out the way Keras 2.9's `load_weights_from_hdf5_group` reads them.

2.9 loads by order: `model_weights` attr `layer_names` (layers without weights are skipped), then
per layer group the attr `weight_names`, each a dataset path inside that group, in the order
trainable weights then non-trainable (nested models and wrappers flattened the same way). Newer
Keras writes the same order but other names (`sequential/dense/kernel` instead of
`dense/kernel:0`); the data is copied with h5py unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tfbridge.convert.h5attrs import damaged, read_str_list, write_str_list

# What h5py raises for a member it cannot resolve or read: a soft link loop ("too many links"),
# an external link to a missing file, a damaged object header.
H5_ERRORS = (KeyError, ValueError, TypeError, OSError, RuntimeError)
WEIGHTS_GROUP = "model_weights"
TOP_LEVEL_WEIGHTS = "top_level_model_weights"


@dataclass(frozen=True)
class LayerWeights:
    layer: str
    names: list[str]  # as stored in the source group


def read_layout(model_weights: Any) -> list[LayerWeights]:
    """Every layer group of the source `model_weights`, in `layer_names` order.

    Checks that each named group and dataset exists (reading no weight data), so that a damaged
    file is refused before anything is written.
    """
    import h5py

    layout = []
    for layer in read_str_list(model_weights, "layer_names"):
        problem = _member_problem(model_weights, layer, h5py.Group)
        if problem == "is missing":
            what = f"`{WEIGHTS_GROUP}` lists the layer `{layer}` but has no group for it"
            raise damaged(model_weights, what)
        if problem:
            raise damaged(model_weights, f"the group of layer `{layer}` {problem}")
        group = model_weights[layer]
        names = read_str_list(group, "weight_names")
        for name in names:
            problem = _member_problem(group, name, h5py.Dataset)
            if problem:
                raise damaged(group, f"the weight `{name}` of layer `{layer}` {problem}")
        layout.append(LayerWeights(layer, names))
    return layout


def weight_structure(source: Any) -> dict[str, list[tuple[str, tuple[int, ...]]]]:
    """Layer group -> (weight name, shape) for `tfbridge.keras29.graph.structure_problems`,
    from a layout `check_weights` accepted (shapes from the headers; no weight data read)."""
    model_weights = source[WEIGHTS_GROUP]
    return {
        entry.layer: [
            (name, tuple(int(dim) for dim in model_weights[entry.layer][name].shape))
            for name in entry.names
        ]
        for entry in read_layout(model_weights)
    }


def _member(group: Any, name: str) -> Any:
    """`group[name]`, or None when there is none (or the name is not a usable HDF5 path)."""
    try:
        return group.get(name)
    except H5_ERRORS:
        return None


def _member_problem(group: Any, name: str, kind: type) -> str:
    """Why `group[name]` is not a `kind` reached inside this file, or "" when it is. Walks the
    path one link at a time, so an external link (to any file, even a FIFO) is never opened."""
    current = group
    for part in [part for part in name.split("/") if part] or [name]:
        problem = _link_problem(current, part)
        if problem:
            return problem
        current = current[part]
    return "" if isinstance(current, kind) else f"is not an HDF5 {kind.__name__.lower()}"


def _link_problem(group: Any, name: str) -> str:
    import h5py

    try:
        link = group.get(name, getlink=True)
    except H5_ERRORS as error:
        return f"cannot be resolved ({_h5_error(error)})"
    if link is None:
        return "is missing"
    if isinstance(link, h5py.ExternalLink):
        return f"is an external link to {link.filename}:{link.path}, which tfbridge does not follow"
    if _member(group, name) is None:
        target = f" to {link.path}" if isinstance(link, h5py.SoftLink) else ""
        return f"is a link{target} that leads nowhere (a loop or a dangling link)"
    return ""


def _h5_error(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


@contextmanager
def _copying(owner: Any, what: str) -> Iterator[None]:
    """Turn an h5py failure while copying `what` into the one-line error naming it (exit 2)."""
    try:
        yield
    except H5_ERRORS as error:
        raise damaged(owner, f"{what} cannot be copied ({_h5_error(error)})") from None


def check_weights(source: Any) -> None:
    """Raise a one-line error unless `source` has a readable `model_weights` layout."""
    import h5py

    problem = _member_problem(source, WEIGHTS_GROUP, h5py.Group)
    if problem == "is missing":
        raise damaged(source, f"it has a model config but no `{WEIGHTS_GROUP}` group")
    if problem:
        raise damaged(source, f"its `{WEIGHTS_GROUP}` {problem}")
    read_layout(source[WEIGHTS_GROUP])
    top = source[WEIGHTS_GROUP].get(TOP_LEVEL_WEIGHTS)
    if top is not None:
        read_str_list(top, "weight_names")


def legacy_weight_name(layer: str, stored: str) -> str:
    """`sequential/bidirectional/forward_lstm/lstm_cell/kernel` -> `bidirectional/.../kernel:0`."""
    parts = stored.split("/")
    parts = parts[parts.index(layer) :] if layer in parts else [layer, *parts]
    name = "/".join(parts)
    return name if ":" in parts[-1] else name + ":0"


def copy_weights(source: Any, target: Any, keras_version: str) -> bool:
    """Write `target/model_weights` from `source/model_weights`; True if any name changed."""
    src = source[WEIGHTS_GROUP]
    dst = target.create_group(WEIGHTS_GROUP)
    layout = read_layout(src)
    write_str_list(dst, "layer_names", [entry.layer for entry in layout])
    dst.attrs["backend"] = b"tensorflow"
    dst.attrs["keras_version"] = keras_version.encode("utf8")
    renamed = False
    # 2.9 writes the groups sorted by name so no group name is a prefix of a later one.
    for entry in sorted(layout, key=lambda item: item.layer):
        group = dst.create_group(entry.layer)
        names = _unique([legacy_weight_name(entry.layer, name) for name in entry.names])
        renamed = renamed or names != entry.names
        write_str_list(group, "weight_names", names)
        for stored, name in zip(entry.names, names, strict=True):
            with _copying(source, f"the weight `{stored}` of layer `{entry.layer}`"):
                _copy_dataset(src[entry.layer][stored], group, name)
    if TOP_LEVEL_WEIGHTS in src:
        top = src[TOP_LEVEL_WEIGHTS]
        group = dst.create_group(TOP_LEVEL_WEIGHTS)
        names = read_str_list(top, "weight_names")
        write_str_list(group, "weight_names", names)
        for name in names:
            with _copying(source, f"the top-level weight `{name}`"):
                _copy_dataset(top[name], group, name)
    return renamed


def top_level_weight_count(source: Any) -> int:
    group = source[WEIGHTS_GROUP].get(TOP_LEVEL_WEIGHTS)
    return 0 if group is None else len(read_str_list(group, "weight_names"))


def _copy_dataset(dataset: Any, group: Any, name: str) -> None:
    parent, _, leaf = name.rpartition("/")
    holder = group.require_group(parent) if parent else group
    # h5py copies the stored bytes and dtype as they are (no numpy round trip).
    holder.copy(dataset, leaf)


def _unique(names: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for name in names:
        candidate, count = name, 1
        while candidate in seen:
            stem, _, suffix = name.rpartition(":")
            candidate = f"{stem}_{count}:{suffix}"
            count += 1
        seen.add(candidate)
        out.append(candidate)
    return out


def copy_optimizer_weights(source: Any, target: Any) -> None:
    """Keep the optimizer state as saved (only when the optimizer itself was not rewritten)."""
    if "optimizer_weights" in source:
        with _copying(source, "the `optimizer_weights` group"):
            source.copy(source["optimizer_weights"], target, "optimizer_weights")


__all__ = [
    "LayerWeights",
    "check_weights",
    "copy_optimizer_weights",
    "copy_weights",
    "legacy_weight_name",
    "read_layout",
    "top_level_weight_count",
    "weight_structure",
]
