"""Can this machine's OS load what a lock installs? Compared before anything is installed, from the
lock's committed platform facts (`tfbridge.envs.lock.facts`) and this machine's OS version
(`tfbridge.envs.hardware`).

A package that cannot load is one of three kinds (`tfbridge/data/native_roles.json`): required
(`import tensorflow` fails: the profile is refused), the GPU plugin (training falls back to the
CPU: said before install, refused by train unless `--allow-cpu`), or optional (said, no more).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from tfbridge.envs.hardware import Hardware
from tfbridge.envs.lock.binaries import version_key
from tfbridge.envs.lock.facts import PackageFacts, PlatformFacts, load_current_facts
from tfbridge.envs.profiles import Profile
from tfbridge.errors import EnvironmentFailure, TfbridgeError
from tfbridge.paths import DATA_FILES_DIR

ROLES_FILE = DATA_FILES_DIR / "native_roles.json"
Role = Literal["required", "gpu", "optional"]
CPU_FALLBACK_HINT = "update macOS, or train on the CPU with `--allow-cpu`"
MAX_NAMED = 3  # further packages that cannot load are counted, not named


@dataclass(frozen=True)
class Shortfall:
    """One package whose native files will not load here, and why."""

    package: str
    version: str
    role: Role
    what: str  # "GPU plugin", or "" for a required package
    needs: str  # "macOS 12.3", "an arm64 Python"
    reason: str  # the sentence for the user
    fix: str  # "update macOS to 12.3 or later"


@dataclass(frozen=True)
class OsVerdict:
    profile: str
    platform: str
    machine_os: str  # "macOS 12.1"
    shortfalls: tuple[Shortfall, ...]
    highest_need: str | None  # "tensorflow-metal 0.5.0 needs macOS 12.3"

    @property
    def blocking(self) -> tuple[Shortfall, ...]:
        return tuple(s for s in self.shortfalls if s.role == "required")

    @property
    def gpu(self) -> Shortfall | None:
        return next((s for s in self.shortfalls if s.role == "gpu"), None)

    @property
    def summary(self) -> str:
        if self.shortfalls:
            return "; ".join(s.reason for s in self.shortfalls)
        most = f"; the most any native file needs: {self.highest_need}" if self.highest_need else ""
        return f"this machine runs {self.machine_os}{most}"


@cache
def native_roles(path: Path = ROLES_FILE) -> dict[str, tuple[Role, str]]:
    packages = json.loads(path.read_text(encoding="utf-8"))["packages"]
    return {name: (entry["role"], entry["what"]) for name, entry in packages.items()}


def judge(facts: PlatformFacts, hardware: Hardware, pins: tuple[str, ...] = ()) -> OsVerdict:
    """Compare the lock's facts with this machine's OS version and architecture. Among equally
    serious shortfalls, the packages in `pins` (the profile's, in its order) are named first."""
    shortfalls = [
        shortfall
        for package in facts.packages
        if (shortfall := _shortfall(package, facts, hardware)) is not None
    ]
    shortfalls.sort(key=lambda s: _most_serious_first(s, pins))
    return OsVerdict(
        profile=facts.profile,
        platform=facts.platform,
        machine_os=hardware.os_description,
        shortfalls=tuple(shortfalls),
        highest_need=_highest_need(facts),
    )


def os_verdict(profile: Profile, hardware: Hardware) -> OsVerdict:
    """The verdict for the lock `profile` would install here (TfbridgeError without facts)."""
    pins = tuple(profile.pinned_versions)
    return judge(load_current_facts(profile, hardware.conda_platform), hardware, pins)


def require_os_support(profile: Profile, hardware: Hardware, say: Callable[[str], None]) -> None:
    """Before an install: refuse a profile this OS cannot import, say what it will lack."""
    try:
        verdict = os_verdict(profile, hardware)
    except TfbridgeError as error:
        say(f"cannot compare this OS with the lock's binaries: {error.message}")
        return
    if verdict.blocking:
        raise refusal(verdict)
    for shortfall in verdict.shortfalls:
        hint = f": {CPU_FALLBACK_HINT}" if shortfall.role == "gpu" else ""
        say(f"warning: {shortfall.reason}{hint}")


def refusal(verdict: OsVerdict) -> EnvironmentFailure:
    first = verdict.blocking[0]
    others = [f"{s.package} {s.version}" for s in verdict.blocking[1:]]
    if len(others) > MAX_NAMED:
        others[MAX_NAMED:] = [f"{len(others) - MAX_NAMED} more"]
    also = f" (also {', '.join(others)})" if others else ""
    gpu = verdict.gpu
    later = f" ({gpu.needs} or later for the {gpu.what})" if gpu else ""
    return EnvironmentFailure(
        f"profile '{verdict.profile}' cannot run here: {first.reason}{also}", first.fix + later
    )


def gpu_plugin_need(profile: Profile, platform: str) -> str | None:
    """'macOS 12.3': what the profile's GPU plugin needs, from the facts (None without facts)."""
    try:
        facts = load_current_facts(profile, platform)
    except TfbridgeError:
        return None
    for package in facts.packages:
        if native_roles().get(package.name, ("required", ""))[0] == "gpu" and package.minimum_os:
            return f"{facts.os} {package.minimum_os}"
    return None


def _shortfall(package: PackageFacts, facts: PlatformFacts, hardware: Hardware) -> Shortfall | None:
    role, what = native_roles().get(package.name, ("required", ""))
    subject = f"{package.name} {package.version}" + (f"'s {what.split(' (')[0]}" if what else "")
    if package.architectures and hardware.machine not in package.architectures:
        needs = f"an {' or '.join(package.architectures)} Python"
        reason = f"{subject} has no {hardware.machine} build ({', '.join(package.architectures)})"
        return Shortfall(
            package.name, package.version, role, what, needs, reason, f"run it with {needs}"
        )
    have = hardware.os_version
    wanted = package.minimum_os
    if have is None or wanted is None or version_key(have) >= version_key(wanted):
        return None
    needs = f"{facts.os} {wanted}"
    reason = f"{subject} needs {needs}; {_machine_runs(facts.os, have)}"
    fix = f"update {facts.os} to {wanted} or later"
    return Shortfall(package.name, package.version, role, what, needs, reason, fix)


def _most_serious_first(
    shortfall: Shortfall, pins: tuple[str, ...]
) -> tuple[int, tuple[int, ...], int, str]:
    rank = ("required", "gpu", "optional").index(shortfall.role)
    wanted = tuple(-part for part in version_key(shortfall.needs.rsplit(" ", 1)[-1]))
    pinned = pins.index(shortfall.package) if shortfall.package in pins else len(pins)
    return rank, wanted, pinned, shortfall.package


def _machine_runs(os_name: str, version: str) -> str:
    if os_name == "macOS":
        return f"this Mac runs {version}"
    if os_name == "glibc":
        return f"this Linux has glibc {version}"
    return f"this machine runs {os_name} {version}"


def _highest_need(facts: PlatformFacts) -> str | None:
    needing = [p for p in facts.packages if p.minimum_os]
    if not needing:
        return None
    top = max(needing, key=lambda p: version_key(p.minimum_os or ""))
    return f"{top.name} {top.version} needs {facts.os} {top.minimum_os}"
