"""Where environments set up with `--prefix` live: `prefixes.json` in the data directory maps each
such profile to its prefix. `tfbridge setup` records a prefix only once its environment is ready, so
a failed setup never redirects the other commands to an environment that is not there."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tfbridge.errors import TfbridgeError
from tfbridge.files import regular_file_problem, write_text_atomic
from tfbridge.paths import data_home

REGISTRY = "prefixes.json"


def registered_prefix(profile: str) -> Path | None:
    recorded = _read().get(profile)
    return Path(recorded) if recorded else None


def record_prefix(profile: str, prefix: Path) -> None:
    registry = _read()
    absolute = absolute_prefix(prefix)
    if registry.get(profile) != str(absolute):
        registry[profile] = str(absolute)
        _write(registry)


def forget_prefix(profile: str) -> None:
    registry = _read()
    if registry.pop(profile, None) is not None:
        _write(registry)


def absolute_prefix(prefix: Path) -> Path:
    # abspath rather than resolve(): a symlink loop is then reported where it is used, in one line.
    return Path(os.path.abspath(prefix.expanduser()))


def _read() -> dict[str, str]:
    path = data_home() / REGISTRY
    if not os.path.lexists(path):
        return {}
    hint = f"delete {path} and run `tfbridge setup --prefix DIR` again for each prefix you use"
    problem = regular_file_problem(path)
    if problem is not None:
        raise TfbridgeError(f"cannot read {path}: {problem}", hint)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as error:
        reason = f"{type(error).__name__}: {error}".splitlines()[0]
        raise TfbridgeError(f"cannot read {path} ({reason})", hint) from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise TfbridgeError(f"{path} is not a map of profile names to folders", hint)
    return {str(k): v for k, v in data.items()}


def _write(registry: dict[str, str]) -> None:
    path = data_home() / REGISTRY
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TfbridgeError(
            f"cannot create {path.parent}: {error.strerror or error}",
            "set TFBRIDGE_HOME to a folder you can write to",
        ) from None
    write_text_atomic(path, json.dumps(registry, indent=2, sort_keys=True) + "\n")
