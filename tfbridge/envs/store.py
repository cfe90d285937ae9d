"""Where each profile's environment lives, and whether it is ready and current.

An environment is ready only once its marker, `tfbridge-env.json`, exists in it: setup writes it
last, after the smoke test, so an interrupted setup never leaves an environment tfbridge treats as
ready. The marker is a record of what the environment was built from; a marker tfbridge cannot read
as that record (corrupt, foreign, a key it does not know) means "not ready", never a crash.
"""

from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import msgspec

from tfbridge.envs import prefixes
from tfbridge.envs.hardware import Hardware, detect
from tfbridge.envs.lock import integrity
from tfbridge.envs.lock.conda import conda_lock_path
from tfbridge.envs.lock.venv import lock_path, read_lock
from tfbridge.envs.profiles import load_profile
from tfbridge.envs.smoke import SmokeReport
from tfbridge.errors import TfbridgeError
from tfbridge.files import regular_file_problem, write_bytes_atomic
from tfbridge.hashing import file_sha256
from tfbridge.paths import envs_home, profile_names
from tfbridge.records import Record

Backend = Literal["conda", "venv"]
MARKER = "tfbridge-env.json"


class Marker(Record, frozen=True):
    """What an environment was built from, written last by setup."""

    profile: str
    backend: Backend
    lock: str
    built_at: str
    smoke: SmokeReport
    lock_digest: str | None = None  # venv: the lock's package list (see `lock_record`)
    lock_sha256: str | None = None  # conda, and venvs built before locks carried digests


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


def env_dir(profile: str) -> Path:
    """Where `profile`'s environment lives: a `--prefix` it was set up with, else the data dir."""
    custom = prefixes.registered_prefix(profile)
    return custom / profile if custom else envs_home() / profile


def python_in(env: Path) -> Path:
    return env / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def env_status(profile: str, hardware: Hardware | None = None) -> EnvStatus:
    path = env_dir(profile)
    python = python_in(path)
    marker = read_marker(path)
    if marker is None:
        problem = "half-built (no completion record)" if path.exists() else "not set up"
        return EnvStatus(profile, path, python, path.exists(), False, False, problem=problem)
    backend, built_at = marker.backend, marker.built_at
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
    remove_tree(path)
    prefixes.forget_prefix(profile)
    return path


def new_marker(profile: str, backend: Backend, lock: Path, smoke: SmokeReport) -> Marker:
    digest, sha256 = lock_record(lock, backend)
    built_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    return Marker(
        profile=profile,
        backend=backend,
        lock=str(lock),
        built_at=built_at,
        smoke=smoke,
        lock_digest=digest,
        lock_sha256=sha256,
    )


def write_marker(env: Path, marker: Marker) -> None:
    write_bytes_atomic(env / MARKER, msgspec.json.format(msgspec.json.encode(marker)) + b"\n")


def read_marker(env: Path) -> Marker | None:
    """The environment's marker, or None where there is none tfbridge wrote."""
    path = env / MARKER
    if regular_file_problem(path) is not None:
        return None
    try:
        return msgspec.json.decode(path.read_bytes(), type=Marker)
    except (OSError, msgspec.DecodeError, RecursionError):  # DecodeError covers a wrong shape
        return None


def lock_record(lock: Path, backend: Backend) -> tuple[str | None, str | None]:
    """(lock_digest, lock_sha256): what a marker records of the lock an environment came from."""
    if backend == "conda":
        return None, file_sha256(lock)
    # The package list, not the file's bytes: a lock whose comments or metadata change still
    # installs the same environment.
    return read_lock(lock).content_digest, None


def built_from(marker: Marker, lock: Path, backend: Backend) -> bool:
    if marker.backend != backend:
        return False
    if backend == "venv" and marker.lock_digest is None:
        # Recorded before locks carried package digests: the sha256 of the lock file as it was.
        return marker.lock_sha256 == integrity.sha256_without_digests(lock)
    return (marker.lock_digest, marker.lock_sha256) == lock_record(lock, backend)


def _built_from_current_lock(profile: str, marker: Marker, hardware: Hardware | None) -> bool:
    try:
        loaded = load_profile(profile)
        if marker.backend == "conda":
            path = conda_lock_path(loaded)
        else:
            path = lock_path(loaded, (hardware or detect()).conda_platform)
        return path.is_file() and built_from(marker, path, marker.backend)
    except (TfbridgeError, OSError, ValueError):
        return False


def remove_tree(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)
