"""Shared CLI options and output: Rich for people, stable JSON for machines."""

from __future__ import annotations

import dataclasses
import json
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON object on stdout instead of tables.")
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors and verdicts.")]
VerboseOption = Annotated[
    bool,
    typer.Option(
        "--verbose", "-v", help="Print more detail: each step with the seconds since the start."
    ),
]

_consoles: dict[bool, Console] = {}


def console(stderr: bool = False) -> Console:
    """A Rich console: colour only on a terminal, plain and stable text in logs and CI."""
    if stderr not in _consoles:
        from rich.console import Console

        _consoles[stderr] = Console(stderr=stderr, highlight=False, soft_wrap=stderr)
    return _consoles[stderr]


def to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    # A tfbridge.records record, told without importing msgspec on the CLI's start-up path.
    record_fields = getattr(type(value), "__struct_fields__", None)
    if record_fields is not None:
        return {name: to_jsonable(getattr(value, name)) for name in record_fields}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


JSON_SCHEMA = 1
_json_printed = False


def print_json(value: Any) -> None:
    """The one JSON object a command prints; objects get `"schema": 1` first."""
    data = to_jsonable(value)
    if isinstance(data, dict):
        data = {"schema": JSON_SCHEMA, **{k: v for k, v in data.items() if k != "schema"}}
    global _json_printed
    _json_printed = True
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False) + "\n")
    sys.stdout.flush()


def start_command() -> None:
    """Forget an earlier command of this process: whether it printed its JSON object, and its
    consoles (Rich reads the terminal width, colours and streams when it makes one)."""
    global _json_printed
    _json_printed = False
    _consoles.clear()


def error_object(message: str, hint: str, exit_code: int) -> dict[str, object]:
    """The `"error"` member of a failed command's JSON object."""
    return {"message": message, "hint": hint, "exit_code": exit_code}


def print_error_json(message: str, hint: str, exit_code: int) -> None:
    """The JSON object of a failed command: `{"schema": 1, "error": {message, hint, exit_code}}`."""
    if not _json_printed:  # exactly one object on stdout, even when a late step fails
        print_json({"error": error_object(message, hint, exit_code)})


def info(message: str, quiet: bool = False) -> None:
    """A progress or status line for people: on stderr, so stdout stays clean for --json."""
    if not quiet:
        console(stderr=True).print(message, markup=False)
