"""String-list attributes as Keras writes them: split into `name0`, `name1`... when too big."""

from __future__ import annotations

from typing import Any

import numpy as np

# Keras's HDF5_OBJECT_HEADER_LIMIT: one attribute must fit in an object header.
HEADER_LIMIT = 64512


def _text(value: Any) -> str:
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def read_str_list(group: Any, name: str) -> list[str]:
    if name in group.attrs:
        return [_text(item) for item in group.attrs[name]]
    items: list[str] = []
    chunk = 0
    while f"{name}{chunk}" in group.attrs:
        items.extend(_text(item) for item in group.attrs[f"{name}{chunk}"])
        chunk += 1
    return items


def read_text_attr(owner: Any, name: str) -> str | None:
    value = owner.attrs.get(name)
    return None if value is None else _text(value)


def write_str_list(group: Any, name: str, items: list[str]) -> None:
    data = np.asarray([item.encode("utf8") for item in items]) if items else np.asarray([])
    chunks = 1
    parts = np.array_split(data, chunks)
    while any(part.nbytes > HEADER_LIMIT for part in parts):
        chunks += 1
        parts = np.array_split(data, chunks)
    if chunks == 1:
        group.attrs[name] = data
    else:
        for index, part in enumerate(parts):
            group.attrs[f"{name}{index}"] = part
