"""Project configuration: where models go (the target) and which model fills which exam slot.

Read from `tfbridge.toml`, or `[tool.tfbridge]` in `pyproject.toml`, in the nearest project root.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, TypeVar

import msgspec
from msgspec import Meta

from tfbridge import records
from tfbridge.contract import Contract, Shape
from tfbridge.errors import TfbridgeError
from tfbridge.files import require_regular_file, write_text_atomic
from tfbridge.paths import find_project_root
from tfbridge.tomlfile import read_toml

CONFIG_FILENAME = "tfbridge.toml"
PYPROJECT_FILENAME = "pyproject.toml"
HISTORY_DIRNAME = ".tfbridge-history"
INIT_HINT = "run `tfbridge sync --init` to write a commented example"

_SLOT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_SSH_DEST = re.compile(r"^(?:(?P<user>[^@/:]+)@)?(?P<host>[^@/:\[\]]+|\[[^\]]+\]):(?P<path>.*)$")
_SHAPE_PROBLEM = "must list the sizes without the batch dimension, e.g. [28, 28]"
# What each key must be, in the words a refusal uses (msgspec's own words otherwise).
_PROBLEMS = {
    "target": 'must be a table: [target] with dest = "user@host:path"',
    "slots": "must be a table of [slots.NAME] sections",
    "slot": 'must be a table with at least `model = "path/to/model.h5"`',
    "dest": 'is required: "user@host:path" or a local directory',
    "port": "must be a port number between 1 and 65535",
    "python": "must be the exam interpreter's path, as a string",
    "model": "must be the path of a .h5 file",
    "remote_dir": "must be a directory path (a string)",
    "remote_name": "must be a plain file name ending in .h5",
    "input_shape": _SHAPE_PROBLEM,
    "output_shape": _SHAPE_PROBLEM,
    "output_activation": 'must be a name such as "softmax"',
}
NotBlank = Annotated[str, Meta(pattern=r"\S")]
ShapeList = Annotated[list[Any], Meta(min_length=1)]


class TargetTable(records.Record, frozen=True):
    """`[target]` as written: checked for types here, for meaning by `_target`."""

    dest: NotBlank
    port: Annotated[int, Meta(ge=1, le=65535)] | None = None
    python: NotBlank | None = None


class SlotTable(records.Record, frozen=True):
    """One `[slots.NAME]` as written."""

    model: Annotated[str, Meta(pattern=r"\.h5\Z")]
    remote_dir: str | None = None  # default: the slot's name
    remote_name: Annotated[str, Meta(pattern=r"\A(?:[^/\\]*\.h5)?\Z")] = ""
    input_shape: ShapeList | None = None
    output_shape: ShapeList | None = None
    output_activation: NotBlank | None = None


class ConfigTable(records.Record, frozen=True):
    """The whole file; each table in it is read on its own, so a refusal can name it."""

    target: dict[str, Any] | None = None
    slots: dict[str, Any] = msgspec.field(default_factory=dict)


TableT = TypeVar("TableT", bound=records.Record)


@dataclass(frozen=True)
class Target:
    """Where slots live: a directory on an SSH host (`host` set) or a local directory (`host` None).

    `python` is the grading machine's exam interpreter, used by `tfbridge sync --remote-verify`.
    """

    path: str
    host: str | None = None
    user: str | None = None
    port: int | None = None
    python: str | None = None

    @property
    def is_local(self) -> bool:
        return self.host is None

    def describe(self) -> str:
        if self.host is None:
            return self.path
        user = f"{self.user}@" if self.user else ""
        port = f" (port {self.port})" if self.port else ""
        return f"{user}{self.host}:{self.path}{port}"


@dataclass(frozen=True)
class Slot:
    """One exam question: the local `model` (absolute) goes into `remote_dir` under the target,
    as `remote_name` (the model's own file name unless configured)."""

    name: str
    model: Path
    remote_dir: str
    contract: Contract = field(default_factory=Contract)
    remote_name: str = ""

    @property
    def file_name(self) -> str:
        return self.remote_name or self.model.name


@dataclass(frozen=True)
class ProjectConfig:
    root: Path
    source: Path
    target: Target | None
    slots: dict[str, Slot]

    def require_target(self) -> Target:
        if self.target is None:
            raise TfbridgeError(
                f"{self.source}: no [target] configured",
                hint='add [target] with dest = "user@host:path" or a local directory',
            )
        return self.target

    def select(self, names: list[str]) -> list[Slot]:
        """The named slots (all of them when `names` is empty), in config order."""
        if not names:
            return list(self.slots.values())
        unknown = [name for name in names if name not in self.slots]
        if unknown:
            known = ", ".join(self.slots) or "none"
            raise TfbridgeError(
                f"{self.source}: no slot named {', '.join(unknown)}", hint=f"known slots: {known}"
            )
        return [self.slots[name] for name in names]


def find_config_file(start: Path | None = None) -> Path | None:
    """The tfbridge.toml, or a pyproject.toml with [tool.tfbridge], at the project root.
    A tfbridge.toml that is there but is not a readable file (a directory, a FIFO) is refused."""
    root = find_project_root(start)
    candidate = root / CONFIG_FILENAME
    if os.path.lexists(candidate):
        require_regular_file(candidate, hint="make it a plain UTF-8 TOML file")
        return candidate
    pyproject = root / PYPROJECT_FILENAME
    if os.path.lexists(pyproject) and _tool_section(pyproject) is not None:
        return pyproject
    return None


def load_config(start: Path | None = None) -> ProjectConfig:
    """Find and validate the project's configuration; errors name the file, the key and the fix."""
    source = find_config_file(start)
    if source is None:
        where = find_project_root(start)
        raise TfbridgeError(
            f"no {CONFIG_FILENAME} (or [tool.tfbridge] in {PYPROJECT_FILENAME}) in {where}",
            hint=INIT_HINT,
        )
    data = read_config_table(source)
    if not isinstance(data, Mapping):
        raise _bad(source, "tool.tfbridge", "must be a table: [tool.tfbridge.target] and slots")
    return parse_config(data, source=source, root=source.parent)


def parse_config(data: Mapping[str, Any], *, source: Path, root: Path) -> ProjectConfig:
    _reject_nul(data, source, "")
    tables = _table(data, ConfigTable, source, "")
    target = None
    if tables.target is not None:
        target = _target(_table(tables.target, TargetTable, source, "target"), source, root)
    slots = {
        name: _slot(name, _table(table, SlotTable, source, f"slots.{name}"), source, root)
        for name, table in tables.slots.items()
    }
    _reject_shared_dirs(slots, source)
    return ProjectConfig(root=root, source=source, target=target, slots=slots)


def check_relative_dir(value: str) -> str | None:
    """Why `value` is not a safe directory inside the target, or None when it is."""
    if not value or value.strip() in {".", ""}:
        return "must name a directory inside the target"
    if "\\" in value:
        return "must use forward slashes"
    pure = PurePosixPath(value)
    if pure.is_absolute() or value.startswith("~"):
        return "must be relative to the target directory, not absolute"
    if ".." in pure.parts:
        return "must not contain '..'"
    if pure.parts[0] == HISTORY_DIRNAME:
        return f"must not be inside {HISTORY_DIRNAME}/ (tfbridge keeps replaced models there)"
    return None


def parse_dest(dest: str) -> tuple[str | None, str | None, str]:
    """`[user@]host:path` -> (user, host, path); a local path -> (None, None, dest).

    A part before ':' containing '/', or a Windows drive (`C:\\x`, `C:/x`), means a local path.
    """
    match = _SSH_DEST.match(dest)
    if match is None or re.match(r"^[A-Za-z]:[\\/]", dest):
        return None, None, dest
    return match["user"], match["host"].strip("[]"), match["path"] or "."


def read_config_table(source: Path) -> Any:
    """The settings table as written, unchecked: all of a tfbridge.toml, or pyproject.toml's
    [tool.tfbridge] (None when absent)."""
    return _tool_section(source) if source.name == PYPROJECT_FILENAME else read_toml(source)


def _tool_section(pyproject: Path) -> Any:
    """pyproject.toml's [tool.tfbridge] (None when absent), whatever type it has."""
    tool = read_toml(pyproject).get("tool")
    if not isinstance(tool, Mapping):
        return None
    return tool.get("tfbridge")


def _table(value: Any, table: type[TableT], source: Path, key: str) -> TableT:
    """`value` as `table`, or one line naming the file and the key (`key`: where `value` sits)."""
    found = records.convert(value, table)
    if not isinstance(found, records.Invalid):
        return found
    full_key = ".".join(part for part in (key, found.key) if part)
    if found.unknown:
        raise _bad(source, full_key, f"is not a known key (known: {records.known_keys(table)})")
    # Only a slot's own table can be the wrong type as a whole: the others are keys of a table.
    subject = found.key.rsplit(".", 1)[-1] if found.key else "slot"
    raise _bad(source, full_key, _PROBLEMS.get(subject, found.problem))


def _target(table: TargetTable, source: Path, root: Path) -> Target:
    user, host, path = parse_dest(table.dest.strip())
    if host is None:
        path = str(_local_path(path, root, source, "target.dest").resolve())
        if table.port is not None:
            raise _bad(source, "target.port", "applies only to an SSH dest (user@host:path)")
    return Target(path=path, host=host, user=user, port=table.port, python=table.python)


def _slot(name: str, table: SlotTable, source: Path, root: Path) -> Slot:
    key = f"slots.{name}"
    if not _SLOT_NAME.match(name):
        raise _bad(source, key, "slot names use letters, digits, '_', '-', '.' and no leading '.'")
    remote_dir = name if table.remote_dir is None else table.remote_dir
    problem = check_relative_dir(remote_dir)
    if problem:
        raise _bad(source, f"{key}.remote_dir", problem)
    contract = Contract(
        input_shape=_shape(table.input_shape, source, f"{key}.input_shape"),
        output_shape=_shape(table.output_shape, source, f"{key}.output_shape"),
        output_activation=table.output_activation and table.output_activation.strip(),
    )
    return Slot(
        name=name,
        model=_local_path(table.model, root, source, f"{key}.model").absolute(),
        remote_dir=str(PurePosixPath(remote_dir)),
        contract=contract,
        remote_name=table.remote_name,
    )


def _shape(value: list[Any] | None, source: Path, key: str) -> Shape | None:
    if value is None:
        return None
    dims: list[int | None] = []
    for dim in value:
        if (isinstance(dim, str) and dim.lower() == "none") or dim == -1:
            dims.append(None)
        elif isinstance(dim, int) and not isinstance(dim, bool) and dim > 0:
            dims.append(dim)
        else:
            raise _bad(source, key, f'has {dim!r}: use positive integers, or "None" for any size')
    return tuple(dims)


def _reject_nul(value: Any, source: Path, key: str) -> None:
    """A NUL byte can be in TOML text but in no path or program name."""
    if isinstance(value, str) and "\0" in value:
        raise _bad(source, key, "must not contain a NUL character")
    if isinstance(value, (Mapping, list)):
        items = value.items() if isinstance(value, Mapping) else enumerate(value)
        for name, item in items:
            _reject_nul(item, source, f"{key}.{name}" if key else str(name))


def _local_path(value: str, root: Path, source: Path, key: str) -> Path:
    """`value` relative to the config's folder, `~` and `~user` expanded."""
    try:
        return root / Path(value).expanduser()
    except RuntimeError:  # `~user` for a user this machine does not have
        raise _bad(source, key, f"names a home directory that does not exist: {value}") from None


def _reject_shared_dirs(slots: Mapping[str, Slot], source: Path) -> None:
    owners: dict[str, str] = {}
    for slot in slots.values():
        other = owners.setdefault(slot.remote_dir.casefold(), slot.name)  # macOS ignores case
        if other != slot.name:
            raise _bad(
                source,
                f"slots.{slot.name}.remote_dir",
                f"is also slot {other}'s directory (case ignored, as on macOS and Windows); "
                "each slot needs its own (one .h5 each)",
            )


def _bad(source: Path, key: str, problem: str) -> TfbridgeError:
    return TfbridgeError(f"{source}: `{key}` {problem}")


EXAMPLE_CONFIG = """\
# tfbridge project configuration: where `tfbridge sync` puts each exam model.

[target]
# The grading machine: "user@host:path" over SSH (host may be an alias from ~/.ssh/config;
# keys, agent and known_hosts are honoured), or a local directory (a mounted share, a USB disk).
# `path` is the directory that holds the exam's question directories.
dest = "me@exam-mac:~/exam"
# port = 22                                  # optional; ~/.ssh/config or 22 otherwise
# The grading machine's exam interpreter (Python 3.8 + tensorflow 2.9.0), used by
# `tfbridge sync --remote-verify`; nothing is installed there.
# python = "/Users/me/exam-env/bin/python"

# One [slots.NAME] per exam question. Each slot directory must hold exactly one .h5.
[slots.q1]
model = "models/q1.h5"                       # local model, relative to this file
remote_dir = "Category1"                     # directory under the target path (default: the name)
# (remote_dir may be a symlink to a directory inside the target, never to another slot's)
# remote_name = "mymodel.h5"                 # file name in the slot (default: the model's name)
# The question's contract, also used by `tfbridge verify` (batch dimension excluded;
# "None" means any size):
input_shape = [28, 28]
output_shape = [10]
output_activation = "softmax"
"""


def write_example_config(directory: Path) -> Path:
    """Write a commented example tfbridge.toml into `directory`; never overwrite one."""
    path = directory / CONFIG_FILENAME
    if os.path.lexists(path):
        raise TfbridgeError(f"{path} already exists", hint="edit it, or remove it first")
    write_text_atomic(path, EXAMPLE_CONFIG)
    return path
