"""Validated records: msgspec Structs read from TOML tables and JSON lines.

Reading is validating: a value of the wrong type, a missing key or a key nobody knows is refused,
and the refusal is one line that names the file and the key (`target.port`, `models[0].verdict`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")

# msgspec's words end with where they apply: "Expected `int`, got `str` - at `$.target.port`".
_WHERE = re.compile(r"^(?P<problem>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_UNKNOWN_KEY = "is not a known key"
_KEY_PROBLEMS = {
    re.compile(r"^Object contains unknown field `(?P<field>[^`]*)`$", re.DOTALL): _UNKNOWN_KEY,
    re.compile(r"^Object missing required field `(?P<field>[^`]*)`$", re.DOTALL): "is required",
}


class Record(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """Base of tfbridge's records: every key known, named by keyword, never changed in place.
    (A subclass says `frozen=True` again, as type checkers want.)"""


@dataclass(frozen=True)
class Invalid:
    """Why a value is not the record: `key` is the dotted path inside it ("" for the value itself);
    `unknown` is True when that key is one the record does not have."""

    key: str
    problem: str
    unknown: bool = False


def invalid(error: msgspec.ValidationError) -> Invalid:
    """msgspec's one-line complaint as the key it is about and the problem with that key."""
    parts = _WHERE.match(str(error))
    assert parts is not None  # the pattern matches any text
    path = (parts["path"] or "").lstrip(".")
    for pattern, problem in _KEY_PROBLEMS.items():
        field = pattern.match(parts["problem"])
        if field is not None:
            key = f"{path}.{field['field']}" if path else field["field"]
            return Invalid(key, problem, unknown=problem == _UNKNOWN_KEY)
    return Invalid(path, parts["problem"][:1].lower() + parts["problem"][1:])


def known_keys(record: type[msgspec.Struct]) -> str:
    """The keys a record accepts, for a message: "dest, port, python"."""
    return ", ".join(sorted(record.__struct_fields__))


def convert(value: Any, record: type[T]) -> T | Invalid:
    """`value` (a parsed TOML table or JSON object) as `record`, or why it is not one."""
    try:
        return msgspec.convert(value, type=record)
    except msgspec.ValidationError as error:
        return invalid(error)


def decode_json(data: bytes | str, record: type[T]) -> T | Invalid:
    """One JSON document as `record`, or why it is not one (malformed JSON included)."""
    try:
        return msgspec.json.decode(data, type=record)
    except msgspec.ValidationError as error:
        return invalid(error)
    except msgspec.DecodeError as error:
        return Invalid("", str(error))


def encode_json_line(record: msgspec.Struct) -> bytes:
    """One record as one line of JSON, keys sorted, newline included."""
    return msgspec.json.encode(record, order="sorted") + b"\n"
