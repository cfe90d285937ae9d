"""Profile environments: build one from its lock (venv + uv, or conda via conda-lock), record
what it was built from, and answer whether it is ready and current.

An environment is ready only once `tfbridge-env.json` exists in it; that file is written last, after
the smoke test, so an interrupted setup never leaves an environment tfbridge treats as ready.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tfbridge import smoke
from tfbridge.errors import TfbridgeError
from tfbridge.hardware import Hardware, detect
from tfbridge.hashing import file_sha256
from tfbridge.interpreters import find_interpreter
from tfbridge.lock.conda import (
    conda_lock_path,
    find_conda_frontend,
    install_command,
    run_conda_lock,
)
from tfbridge.lock.venv import check_lock, lock_path
from tfbridge.paths import data_home, envs_home
from tfbridge.profiles import Profile, load_profile

Backend = Literal["auto", "conda", "venv"]
Progress = Callable[[str], None]
MARKER = "tfbridge-env.json"
_REGISTRY = "prefixes.json"


@dataclass(frozen=True)
class EnvStatus:
    profile: str
    path: Path
    python: Path
    exists: bool
    ready: bool
    current: bool
    backend: str | None = None
    built_at: str | None = None
    problem: str | None = None


@dataclass(frozen=True)
class SetupResult:
    profile: str
    path: Path
    python: Path
    backend: str
    changed: bool  # False when the environment was already built from the current lock
    seconds: float
    smoke: dict[str, Any] = field(default_factory=dict)


def env_dir(profile: str) -> Path:
    """Where `profile`'s environment lives: a `--prefix` it was set up with, else the data dir."""
    custom = _read_registry().get(profile)
    return Path(custom) / profile if custom else envs_home() / profile


def python_in(env: Path) -> Path:
    return env / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def env_status(profile: str, hardware: Hardware | None = None) -> EnvStatus:
    path = env_dir(profile)
    python = python_in(path)
    marker = _read_marker(path)
    if marker is None:
        problem = "half-built (no completion record)" if path.exists() else "not set up"
        return EnvStatus(profile, path, python, path.exists(), False, False, problem=problem)
    if not python.exists():
        return EnvStatus(
            profile,
            path,
            python,
            True,
            False,
            False,
            marker.get("backend"),
            marker.get("built_at"),
            problem="its interpreter is missing",
        )
    expected = _current_lock_digest(profile, str(marker.get("backend", "venv")), hardware)
    current = expected is not None and marker.get("lock_sha256") == expected
    stale = None if current else "built from an older lock"
    return EnvStatus(
        profile,
        path,
        python,
        True,
        True,
        current,
        marker.get("backend"),
        marker.get("built_at"),
        stale,
    )


def ready_python(profile: str) -> Path:
    status = env_status(profile)
    if status.ready and status.current:
        return status.python
    raise TfbridgeError(
        f"the '{profile}' environment is {status.problem} ({status.path})",
        f"run `tfbridge setup {profile}`",
    )


def list_envs() -> list[EnvStatus]:
    from tfbridge.profiles import profile_names

    return [env_status(name) for name in profile_names()]


def remove_env(profile: str) -> Path:
    path = env_dir(profile)
    if not path.exists():
        raise TfbridgeError(f"no '{profile}' environment at {path}", "see `tfbridge env list`")
    _remove_tree(path)
    registry = _read_registry()
    if registry.pop(profile, None) is not None:
        _write_registry(registry)
    return path


def setup_profile(
    name: str,
    *,
    backend: Backend = "auto",
    python: Path | None = None,
    prefix: Path | None = None,
    hardware: Hardware | None = None,
    progress: Progress | None = None,
) -> SetupResult:
    started = time.monotonic()
    say = progress or (lambda _message: None)
    hardware = hardware or detect()
    profile = load_profile(name)
    profile.check_supported(hardware)
    if prefix is not None:
        _register_prefix(name, prefix)
    chosen = _choose_backend(backend)
    lock = _lock_for(profile, chosen, hardware)
    digest = file_sha256(lock)
    target = env_dir(name)
    marker = _read_marker(target)
    if marker and marker.get("lock_sha256") == digest and python_in(target).exists():
        return SetupResult(
            name,
            target,
            python_in(target),
            chosen,
            False,
            time.monotonic() - started,
            marker.get("smoke", {}),
        )
    build = _build_venv if chosen == "venv" else _build_conda
    smoke_report = build(profile, lock, target, python, hardware, say)
    return SetupResult(
        name, target, python_in(target), chosen, True, time.monotonic() - started, smoke_report
    )


def _choose_backend(backend: Backend) -> Literal["conda", "venv"]:
    if backend == "auto":
        return "conda" if find_conda_frontend() else "venv"
    return backend


def _lock_for(profile: Profile, backend: str, hardware: Hardware) -> Path:
    if backend == "conda":
        path = conda_lock_path(profile)
        if not path.is_file():
            raise TfbridgeError(
                f"no conda lock for profile '{profile.name}' ({path})",
                f"run `tfbridge lock --backend conda {profile.name}` (needs conda channels), "
                "or use `--backend venv`",
            )
        return path
    state = check_lock(profile, hardware.conda_platform)
    if state.problem:
        raise TfbridgeError(
            state.problem, f"run `tfbridge lock {profile.name}` and commit the result"
        )
    return state.path


def _current_lock_digest(profile: str, backend: str, hardware: Hardware | None) -> str | None:
    try:
        loaded = load_profile(profile)
        if backend == "conda":
            path = conda_lock_path(loaded)
        else:
            path = lock_path(loaded, (hardware or detect()).conda_platform)
        return file_sha256(path) if path.is_file() else None
    except TfbridgeError:
        return None


def _build_venv(
    profile: Profile,
    lock: Path,
    target: Path,
    python: Path | None,
    hardware: Hardware,
    say: Progress,
) -> dict[str, Any]:
    from tfbridge.uvtool import run_uv

    machine = "arm64" if profile.gpu_required and hardware.system == "darwin" else None
    interpreter = find_interpreter(profile.python, explicit=python, machine=machine)
    aside = _aside_dir(target)
    with _removed_on_failure(aside):
        say(f"creating a Python {interpreter.version} venv from {interpreter.path}")
        run_uv(
            ["venv", "--quiet", "--relocatable", "--python", interpreter.path, aside],
            what=f"creating the '{profile.name}' venv",
        )
        say(f"installing {lock.name} (hashes required)")
        run_uv(
            ["pip", "sync", "--quiet", "--require-hashes", "--python", python_in(aside), lock],
            what=f"installing the '{profile.name}' lock",
        )
        return _finish(profile, lock, aside, target, "venv", say)


def _build_conda(
    profile: Profile,
    lock: Path,
    target: Path,
    python: Path | None,
    hardware: Hardware,
    say: Progress,
) -> dict[str, Any]:
    # conda environments hard-code their prefix, so they are built in place; the marker, written
    # last, is still what makes one ready.
    _remove_tree(target)
    with _removed_on_failure(target):
        say(f"installing {lock.name} with conda-lock")
        run_conda_lock(install_command(lock, target))
        return _finish(profile, lock, target, target, "conda", say)


@contextmanager
def _removed_on_failure(path: Path) -> Iterator[None]:
    """A build that fails or is interrupted leaves nothing behind."""
    try:
        yield
    except BaseException:
        _remove_tree(path)
        raise


def _finish(
    profile: Profile, lock: Path, built: Path, target: Path, backend: str, say: Progress
) -> dict[str, Any]:
    say("smoke test: imports, versions, devices")
    report = smoke.run_smoke_test(profile, python_in(built))
    record = {
        "profile": profile.name,
        "backend": backend,
        "lock": str(lock),
        "lock_sha256": file_sha256(lock),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "smoke": report,
    }
    (built / MARKER).write_text(json.dumps(record, indent=2) + "\n")
    if built != target:
        _swap_into_place(built, target)
    return report


def _swap_into_place(built: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    if target.exists():
        target.rename(old)
    built.rename(target)
    _remove_tree(old)


def _aside_dir(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{target.name}.partial-*"):
        _remove_tree(stale)  # left by an interrupted setup
    return target.with_name(f".{target.name}.partial-{uuid.uuid4().hex[:8]}")


def _read_marker(env: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((env / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _remove_tree(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)


def _read_registry() -> dict[str, str]:
    try:
        data = json.loads((data_home() / _REGISTRY).read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write_registry(registry: dict[str, str]) -> None:
    path = data_home() / _REGISTRY
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(registry, indent=2, sort_keys=True) + "\n")
    os.replace(partial, path)


def _register_prefix(profile: str, prefix: Path) -> None:
    registry = _read_registry()
    resolved = str(prefix.expanduser().resolve())
    if registry.get(profile) != resolved:
        registry[profile] = resolved
        _write_registry(registry)
