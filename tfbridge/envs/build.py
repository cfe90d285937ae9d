"""`tfbridge setup`: build a profile's environment from its lock (venv + uv, or conda via
conda-lock), smoke-test it, and only then mark it ready.

Builds of one environment are serialized (`tfbridge.envs.build_lock`); a venv is built aside and
swapped into place; a `--prefix` is recorded only once its environment is ready. Each phase is
reported as it starts and with its time when it ends, for the CLI to show.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import msgspec

from tfbridge.envs import prefixes, smoke
from tfbridge.envs.build_lock import build_lock
from tfbridge.envs.hardware import Hardware, detect
from tfbridge.envs.interpreters import find_interpreter
from tfbridge.envs.jupyter import register_kernel
from tfbridge.envs.lock.conda import (
    conda_lock_path,
    find_conda_frontend,
    install_command,
    run_conda_lock,
)
from tfbridge.envs.lock.venv import check_lock, read_lock
from tfbridge.envs.os_support import require_os_support
from tfbridge.envs.profiles import Profile, default_profile_name, load_profile
from tfbridge.envs.store import (
    Backend,
    built_from,
    env_dir,
    new_marker,
    python_in,
    read_marker,
    remove_tree,
    write_marker,
)
from tfbridge.envs.uvtool import run_uv
from tfbridge.errors import EnvironmentFailure, TfbridgeError
from tfbridge.files import process_alive

BACKENDS = ("auto", "conda", "venv")


@dataclass(frozen=True)
class Step:
    """What setup reports as it goes: a message, or a phase that starts (`seconds` None) or ends
    (`seconds` it took)."""

    profile: str
    text: str
    phase: bool = False
    seconds: float | None = None


StepCallback = Callable[[Step], None]


@dataclass(frozen=True)
class SetupResult:
    profile: str
    path: Path
    python: Path
    backend: str
    changed: bool  # False when the environment was already built from the current lock
    seconds: float
    smoke: dict[str, Any]
    jupyter_kernel: Path | None = None


class _Reporter:
    """Says messages and times phases for one profile's setup."""

    def __init__(self, profile: str, progress: StepCallback | None) -> None:
        self.profile = profile
        self.progress = progress

    def say(self, text: str) -> None:
        if self.progress is not None:
            self.progress(Step(self.profile, text))

    @contextmanager
    def phase(self, text: str) -> Iterator[None]:
        started = time.monotonic()
        if self.progress is not None:
            self.progress(Step(self.profile, text, phase=True))
        yield
        if self.progress is not None:
            self.progress(Step(self.profile, text, True, time.monotonic() - started))


def setup_profiles(
    names: Sequence[str],
    *,
    backend: str = "auto",
    python: Path | None = None,
    prefix: Path | None = None,
    jupyter: bool = False,
    progress: StepCallback | None = None,
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
        result = setup_profile(
            name,
            backend=backend,
            python=python,
            prefix=prefix,
            hardware=hardware,
            progress=progress,
        )
        if jupyter:
            with _Reporter(name, progress).phase("registering a Jupyter kernel"):
                kernel = register_kernel(name, result.python)
            result = replace(result, jupyter_kernel=kernel)
        results.append(result)
    return results


def setup_profile(
    name: str,
    *,
    backend: str = "auto",
    python: Path | None = None,
    prefix: Path | None = None,
    hardware: Hardware | None = None,
    progress: StepCallback | None = None,
) -> SetupResult:
    started = time.monotonic()
    report = _Reporter(name, progress)
    hardware = hardware or detect()
    profile = load_profile(name)
    profile.check_supported(hardware)
    require_os_support(profile, hardware, report.say)
    chosen = choose_backend(backend)
    lock = _lock_for(profile, chosen, hardware)
    target = prefixes.absolute_prefix(prefix) / name if prefix else env_dir(name)
    with build_lock(target, on_wait=lambda pid: report.say(_waiting_message(name, pid))):
        _remove_abandoned_builds(target)
        marker = read_marker(target)
        changed = not (marker and built_from(marker, lock, chosen) and python_in(target).exists())
        if changed:
            build = _Build(profile, lock, target, python, hardware, report)
            answered = _build_venv(build) if chosen == "venv" else _build_conda(build)
        else:
            assert marker is not None
            answered = marker.smoke
        if prefix is not None:
            prefixes.record_prefix(name, prefix)
    seconds = time.monotonic() - started
    smoke_record = msgspec.to_builtins(answered)
    return SetupResult(name, target, python_in(target), chosen, changed, seconds, smoke_record)


def choose_backend(backend: str) -> Backend:
    if backend == "auto":
        return "conda" if find_conda_frontend() else "venv"
    if backend in ("conda", "venv"):
        return "conda" if backend == "conda" else "venv"
    raise TfbridgeError(f"unknown backend '{backend}'", f"use {', '.join(BACKENDS)}")


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


@dataclass(frozen=True)
class _Build:
    """One environment to build: from `lock`, into `target`, with `python` if the user gave one."""

    profile: Profile
    lock: Path
    target: Path
    python: Path | None
    hardware: Hardware
    report: _Reporter


def _build_venv(build: _Build) -> smoke.SmokeReport:
    profile, lock, report = build.profile, build.lock, build.report
    machine = "arm64" if profile.gpu_required and build.hardware.system == "darwin" else None
    with report.phase(f"resolving a Python {profile.python} interpreter"):
        interpreter = find_interpreter(profile.python, explicit=build.python, machine=machine)
    aside = _owned_sibling(build.target, "partial")
    with _removed_on_failure(aside):
        with report.phase(f"creating a Python {interpreter.version} venv ({interpreter.path})"):
            run_uv(
                ["venv", "--quiet", "--relocatable", "--python", interpreter.path, aside],
                what=f"creating the '{profile.name}' venv",
            )
        with report.phase(f"installing {len(read_lock(lock).packages)} packages ({lock.name})"):
            _install_lock(profile, lock, aside)
        return _finish(build, aside, "venv")


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


def _build_conda(build: _Build) -> smoke.SmokeReport:
    # conda environments hard-code their prefix, so they are built in place; the marker, written
    # last, is still what makes one ready.
    remove_tree(build.target)
    with _removed_on_failure(build.target):
        with build.report.phase(f"installing {build.lock.name} with conda-lock"):
            run_conda_lock(install_command(build.lock, build.target))
        return _finish(build, build.target, "conda")


@contextmanager
def _removed_on_failure(path: Path) -> Iterator[None]:
    """A build that fails or is interrupted leaves nothing behind."""
    try:
        yield
    except BaseException:
        remove_tree(path)
        raise


def _finish(build: _Build, built: Path, backend: Backend) -> smoke.SmokeReport:
    """Smoke-test the environment at `built`, mark it ready, and move it to its target."""
    with build.report.phase("smoke test (imports, versions, devices: one TensorFlow start)"):
        answered = smoke.run_smoke_test(build.profile, python_in(built))
    write_marker(built, new_marker(build.profile.name, backend, build.lock, answered))
    if built != build.target:
        _swap_into_place(built, build.target)
    return answered


def _swap_into_place(built: Path, target: Path) -> None:
    old = _owned_sibling(target, "old")
    if target.exists():
        target.rename(old)
    built.rename(target)
    remove_tree(old)


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
            remove_tree(sibling)
