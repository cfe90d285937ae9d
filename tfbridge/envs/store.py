"""Profile environments: build one from its lock (venv + uv, or conda via conda-lock), record
what it was built from, and answer whether it is ready and current.

An environment is ready only once `tfbridge-env.json` exists in it; that file is written last, after
the smoke test, so an interrupted setup never leaves an environment tfbridge treats as ready.
Builds of one environment are serialized (`tfbridge.envs.build_lock`); a `--prefix` is recorded
only once its environment is ready.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from tfbridge.envs import prefixes, smoke
from tfbridge.envs.build_lock import build_lock
from tfbridge.envs.hardware import Hardware, detect
from tfbridge.envs.interpreters import find_interpreter
from tfbridge.envs.jupyter import register_kernel
from tfbridge.envs.lock import integrity
from tfbridge.envs.lock.conda import (
    conda_lock_path,
    find_conda_frontend,
    install_command,
    run_conda_lock,
)
from tfbridge.envs.lock.venv import check_lock, lock_path, read_lock
from tfbridge.envs.os_support import require_os_support
from tfbridge.envs.profiles import Profile, default_profile_name, load_profile, profile_names
from tfbridge.envs.uvtool import run_uv
from tfbridge.errors import EnvironmentFailure, TfbridgeError
from tfbridge.files import process_alive, regular_file_problem, write_text_atomic
from tfbridge.hashing import file_sha256
from tfbridge.paths import envs_home

Backend = Literal["conda", "venv"]
BACKENDS = ("auto", "conda", "venv")
Progress = Callable[[str], None]
MARKER = "tfbridge-env.json"


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
    jupyter_kernel: Path | None = None


def env_dir(profile: str) -> Path:
    """Where `profile`'s environment lives: a `--prefix` it was set up with, else the data dir."""
    custom = prefixes.registered_prefix(profile)
    return custom / profile if custom else envs_home() / profile


def python_in(env: Path) -> Path:
    return env / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def env_status(profile: str, hardware: Hardware | None = None) -> EnvStatus:
    path = env_dir(profile)
    python = python_in(path)
    marker = _read_marker(path)
    if marker is None:
        problem = "half-built (no completion record)" if path.exists() else "not set up"
        return EnvStatus(profile, path, python, path.exists(), False, False, problem=problem)
    backend, built_at = marker.get("backend"), marker.get("built_at")
    if not python.exists():
        problem = "its interpreter is missing"
        return EnvStatus(profile, path, python, True, False, False, backend, built_at, problem)
    current = _built_from_current_lock(profile, marker, hardware)
    stale = None if current else "built from an older lock"
    return EnvStatus(profile, path, python, True, True, current, backend, built_at, stale)


def ready_python(profile: str) -> Path:
    status = env_status(profile)
    if status.ready and status.current:
        return status.python
    raise TfbridgeError(
        f"the '{profile}' environment is {status.problem} ({status.path})",
        f"run `tfbridge setup {profile}`",
    )


def list_envs() -> list[EnvStatus]:
    return [env_status(name) for name in profile_names()]


def remove_env(profile: str) -> Path:
    path = env_dir(profile)
    if not path.exists():
        raise TfbridgeError(f"no '{profile}' environment at {path}", "see `tfbridge env list`")
    _remove_tree(path)
    prefixes.forget_prefix(profile)
    return path


def setup_profiles(
    names: Sequence[str],
    *,
    backend: str = "auto",
    python: Path | None = None,
    prefix: Path | None = None,
    jupyter: bool = False,
    progress: Callable[[str, str], None] | None = None,
) -> list[SetupResult]:
    """Set up each named profile (default: this machine's), optionally as a Jupyter kernel.

    Every name and the backend are checked before anything is built."""
    hardware = detect()
    names = list(names) or [default_profile_name(hardware)]
    for name in names:
        load_profile(name)
    choose_backend(backend)
    results = []
    for name in names:
        say = None if progress is None else _progress_for(name, progress)
        result = setup_profile(
            name, backend=backend, python=python, prefix=prefix, hardware=hardware, progress=say
        )
        if jupyter:
            result = replace(result, jupyter_kernel=register_kernel(name, result.python))
        results.append(result)
    return results


def setup_profile(
    name: str,
    *,
    backend: str = "auto",
    python: Path | None = None,
    prefix: Path | None = None,
    hardware: Hardware | None = None,
    progress: Progress | None = None,
) -> SetupResult:
    started = time.monotonic()
    say = progress or _silent
    hardware = hardware or detect()
    profile = load_profile(name)
    profile.check_supported(hardware)
    require_os_support(profile, hardware, say)
    chosen = choose_backend(backend)
    lock = _lock_for(profile, chosen, hardware)
    target = prefixes.absolute_prefix(prefix) / name if prefix else env_dir(name)
    with build_lock(target, on_wait=lambda pid: say(_waiting_message(name, pid))):
        _remove_abandoned_builds(target)
        marker = _read_marker(target)
        changed = not (marker and _built_from(marker, lock, chosen) and python_in(target).exists())
        if changed:
            build = _build_venv if chosen == "venv" else _build_conda
            report = build(profile, lock, target, python, hardware, say)
        else:
            report = marker.get("smoke", {}) if marker else {}
        if prefix is not None:
            prefixes.record_prefix(name, prefix)
    seconds = time.monotonic() - started
    return SetupResult(name, target, python_in(target), chosen, changed, seconds, report)


def choose_backend(backend: str) -> Backend:
    if backend == "auto":
        return "conda" if find_conda_frontend() else "venv"
    if backend in ("conda", "venv"):
        return "conda" if backend == "conda" else "venv"
    raise TfbridgeError(f"unknown backend '{backend}'", f"use {', '.join(BACKENDS)}")


def _silent(_message: str) -> None:
    pass


def _progress_for(name: str, progress: Callable[[str, str], None]) -> Progress:
    return lambda message: progress(name, message)


def _waiting_message(name: str, pid: int | None) -> str:
    holder = f" (pid {pid})" if pid is not None else ""
    return f"waiting for another setup of '{name}'{holder} to finish"


def _lock_for(profile: Profile, backend: Backend, hardware: Hardware) -> Path:
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


def _lock_record(lock: Path, backend: str) -> dict[str, str]:
    """What an environment's marker records of the lock it was built from."""
    if backend == "conda":
        return {"lock_sha256": file_sha256(lock)}
    # The package list, not the file's bytes: a lock whose comments or metadata change still
    # installs the same environment.
    return {"lock_digest": read_lock(lock).content_digest}


def _built_from(marker: dict[str, Any], lock: Path, backend: str) -> bool:
    if backend == "venv" and "lock_digest" not in marker:
        # Recorded before locks carried package digests: the sha256 of the lock file as it was.
        return marker.get("lock_sha256") == integrity.sha256_without_digests(lock)
    return all(marker.get(key) == value for key, value in _lock_record(lock, backend).items())


def _built_from_current_lock(
    profile: str, marker: dict[str, Any], hardware: Hardware | None
) -> bool:
    backend = str(marker.get("backend", "venv"))
    try:
        loaded = load_profile(profile)
        if backend == "conda":
            path = conda_lock_path(loaded)
        else:
            path = lock_path(loaded, (hardware or detect()).conda_platform)
        return path.is_file() and _built_from(marker, path, backend)
    except (TfbridgeError, OSError, ValueError):
        return False


def _build_venv(
    profile: Profile,
    lock: Path,
    target: Path,
    python: Path | None,
    hardware: Hardware,
    say: Progress,
) -> dict[str, Any]:
    machine = "arm64" if profile.gpu_required and hardware.system == "darwin" else None
    interpreter = find_interpreter(profile.python, explicit=python, machine=machine)
    aside = _owned_sibling(target, "partial")
    with _removed_on_failure(aside):
        say(f"creating a Python {interpreter.version} venv from {interpreter.path}")
        run_uv(
            ["venv", "--quiet", "--relocatable", "--python", interpreter.path, aside],
            what=f"creating the '{profile.name}' venv",
        )
        say(f"installing {lock.name} (hashes required)")
        _install_lock(profile, lock, aside)
        return _finish(profile, lock, aside, target, "venv", say)


def _install_lock(profile: Profile, lock: Path, env: Path) -> None:
    """Install the lock from uv's cache when the cache holds every locked file, else online.

    A locked URL with a locked hash never changes, but online uv revalidates each direct URL and
    PyPI's CDN answers "modified", so every build downloaded and unpacked every wheel again
    (measured: 10 s and about 2 GB of new cache per exam build, against 1.5 s and none offline).
    Hashes are required either way."""
    sync: list[str | Path] = ["pip", "sync", "--quiet", "--require-hashes"]
    sync += ["--python", python_in(env), lock]
    what = f"installing the '{profile.name}' lock"
    try:
        run_uv([*sync, "--offline"], what=what)
    except EnvironmentFailure:  # something is not cached yet: fetch it
        run_uv(sync, what=what)


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
        **_lock_record(lock, backend),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "smoke": report,
    }
    write_text_atomic(built / MARKER, json.dumps(record, indent=2) + "\n")
    if built != target:
        _swap_into_place(built, target)
    return report


def _swap_into_place(built: Path, target: Path) -> None:
    old = _owned_sibling(target, "old")
    if target.exists():
        target.rename(old)
    built.rename(target)
    _remove_tree(old)


def _owned_sibling(target: Path, kind: str) -> Path:
    """`.NAME.KIND-PID-RANDOM` beside `target`: work in progress of this process."""
    return target.with_name(f".{target.name}.{kind}-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def _remove_abandoned_builds(target: Path) -> None:
    """Remove partial builds (and swapped-out old envs) whose process is gone; called under the
    build lock. Names from before they carried a pid have no owner left either."""
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.(?:partial|old)-(?:(\d+)-)?[0-9a-f]+$")
    for sibling in target.parent.iterdir():
        match = pattern.match(sibling.name)
        if match and not (match[1] and process_alive(int(match[1]))):
            _remove_tree(sibling)


def _read_marker(env: Path) -> dict[str, Any] | None:
    path = env / MARKER
    if regular_file_problem(path) is not None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _remove_tree(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)
