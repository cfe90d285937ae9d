"""String-list attributes as Keras writes them: split into `name0`, `name1`... when too big."""

from __future__ import annotations

from typing import Any

from tfbridge.errors import TfbridgeError

# Keras's HDF5_OBJECT_HEADER_LIMIT: one attribute must fit in an object header.
HEADER_LIMIT = 64512


DAMAGED_HINT = "the file is damaged or was not written by Keras: save the model again as .h5"


def damaged(owner: Any, what: str) -> TfbridgeError:
    """The one-line error for an HDF5 object that is not what Keras writes (exit 2)."""
    return TfbridgeError(f"{owner.file.filename}: {what}", hint=DAMAGED_HINT)


def _text(owner: Any, name: str, value: Any) -> str:
    """An attribute's text. h5py hands back bytes that are not UTF-8 either as they are or as a
    str holding surrogate escapes (variable-length strings); both are refused."""
    try:
        if isinstance(value, bytes):
            return value.decode("utf8")
        if isinstance(value, str):
            value.encode("utf8")
            return value
    except UnicodeError:
        raise damaged(owner, f"the attribute `{name}` of {owner.name} is not UTF-8 text") from None
    raise damaged(owner, f"the attribute `{name}` of {owner.name} is not text")


def _attr(owner: Any, name: str) -> Any:
    try:
        return owner.attrs.get(name)
    except (OSError, TypeError, ValueError) as error:  # h5py cannot map every HDF5 type
        raise damaged(
            owner, f"the attribute `{name}` of {owner.name} cannot be read ({error})"
        ) from None


def _items(owner: Any, name: str) -> list[str]:
    import numpy as np

    value = _attr(owner, name)
    if not isinstance(value, np.ndarray) or value.ndim != 1:
        raise damaged(owner, f"the attribute `{name}` of {owner.name} is not a list of names")
    return [_text(owner, name, item) for item in value]


def read_str_list(group: Any, name: str) -> list[str]:
    if name in group.attrs:
        return _items(group, name)
    items: list[str] = []
    chunk = 0
    while f"{name}{chunk}" in group.attrs:
        items.extend(_items(group, f"{name}{chunk}"))
        chunk += 1
    return items


def read_text_attr(owner: Any, name: str) -> str | None:
    value = _attr(owner, name)
    return None if value is None else _text(owner, name, value)


def write_str_list(group: Any, name: str, items: list[str]) -> None:
    import numpy as np

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
