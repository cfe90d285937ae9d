"""What machine is this? Apple Silicon (native or under Rosetta 2), Intel Mac, Linux, Windows,
and which OS version (macOS, glibc, Windows build) it runs.

Detection is split in two: `read_facts()` gathers raw facts from the OS, `classify()` turns
facts into a `Hardware` answer. `read_facts()` is the one seam for this machine's OS and version:
tests replace it (or feed `classify()`) to play machines this one is not.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tfbridge.errors import TfbridgeError

_CONDA_PLATFORMS = {
    ("darwin", "arm64"): "osx-arm64",
    ("darwin", "x86_64"): "osx-64",
    ("linux", "x86_64"): "linux-64",
    ("linux", "aarch64"): "linux-aarch64",
    ("windows", "x86_64"): "win-64",
}
_OS_NAMES = {"darwin": "macOS", "linux": "glibc", "windows": "Windows"}
# What a Python built against a pre-11 SDK hears from macOS 11+ instead of the real version.
_MACOS_COMPAT_VERSION = "10.16"
_MACHINE_ALIASES = {"amd64": "x86_64", "x64": "x86_64", "aarch64": "aarch64", "arm64": "arm64"}


@dataclass(frozen=True)
class RawFacts:
    """What the OS says, unprocessed. `cpu_flags` and `os_version` are None where unreadable.

    `os_version` is the macOS version on a Mac, the glibc version on Linux, the build on Windows.
    """

    system: str
    machine: str
    proc_translated: bool = False
    cpu_flags: frozenset[str] | None = None
    os_version: str | None = None


@dataclass(frozen=True)
class Hardware:
    system: str
    machine: str
    is_rosetta: bool
    has_avx: bool | None
    conda_platform: str
    os_version: str | None = None

    @property
    def os_name(self) -> str:
        """What `os_version` is a version of: macOS, glibc or Windows."""
        return _OS_NAMES.get(self.system, self.system)

    @property
    def os_description(self) -> str:
        return f"{self.os_name} {self.os_version or '(version unknown)'}"

    @property
    def is_apple_silicon(self) -> bool:
        """True on an M-series Mac, whether this Python runs natively or under Rosetta 2."""
        return self.system == "darwin" and (self.machine == "arm64" or self.is_rosetta)

    @property
    def description(self) -> str:
        if self.is_rosetta:
            return "Apple Silicon Mac, x86_64 Python under Rosetta 2"
        if self.is_apple_silicon:
            return "Apple Silicon Mac (arm64)"
        names = {"darwin": "Intel Mac", "linux": "Linux", "windows": "Windows"}
        return f"{names.get(self.system, self.system)} {self.machine}"


def classify(facts: RawFacts) -> Hardware:
    system = facts.system.lower()
    machine = _MACHINE_ALIASES.get(facts.machine.lower(), facts.machine.lower())
    if system == "linux" and machine == "arm64":
        machine = "aarch64"
    if system == "darwin" and machine == "aarch64":
        machine = "arm64"
    conda_platform = _CONDA_PLATFORMS.get((system, machine))
    if conda_platform is None:
        raise TfbridgeError(
            f"unsupported machine: {facts.system} {facts.machine}",
            "tfbridge supports macOS (arm64, x86_64), Linux (x86_64, aarch64) and Windows x86_64",
        )
    is_rosetta = system == "darwin" and machine == "x86_64" and facts.proc_translated
    return Hardware(
        system=system,
        machine=machine,
        is_rosetta=is_rosetta,
        has_avx=_has_avx(machine, facts.cpu_flags, is_rosetta),
        conda_platform=conda_platform,
        os_version=facts.os_version,
    )


def _has_avx(machine: str, cpu_flags: frozenset[str] | None, is_rosetta: bool) -> bool | None:
    if machine != "x86_64":
        return None
    if is_rosetta:
        return False  # Rosetta 2 translates SSE but not AVX; TF 2.9 wheels need AVX.
    if cpu_flags is None:
        return None
    return "avx" in cpu_flags


def detect() -> Hardware:
    return classify(read_facts())


def read_facts() -> RawFacts:
    system = sys.platform
    if system.startswith("linux"):
        system = "linux"
    elif system in ("win32", "cygwin"):
        system = "windows"
    machine = platform.machine()
    if system == "darwin":
        translated = _sysctl("sysctl.proc_translated") == "1"
        return RawFacts(system, machine, translated, _mac_cpu_flags(), _macos_version())
    if system == "linux":
        flags = _linux_cpu_flags(Path("/proc/cpuinfo"))
        return RawFacts(system, machine, False, flags, _glibc_version())
    return RawFacts(system, machine, False, None, platform.version() or None)


def _macos_version() -> str | None:
    version = platform.mac_ver()[0]
    if version in ("", _MACOS_COMPAT_VERSION):
        version = _command_output(["sw_vers", "-productVersion"], SYSTEM_VERSION_COMPAT="0") or ""
    return version or None


def _glibc_version() -> str | None:
    """'2.36' from 'glibc 2.36'; None on a Linux without glibc (musl)."""
    try:
        reported = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError):
        return None
    name, _, version = (reported or "").partition(" ")
    return version if name == "glibc" and version else None


def _linux_cpu_flags(cpuinfo: Path) -> frozenset[str] | None:
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.lower().split())
    return None


def _mac_cpu_flags() -> frozenset[str] | None:
    features = " ".join(
        filter(None, (_sysctl("machdep.cpu.features"), _sysctl("machdep.cpu.leaf7_features")))
    )
    return frozenset(features.lower().replace("avx1.0", "avx").split()) if features else None


def _sysctl(name: str) -> str | None:
    return _command_output(["sysctl", "-n", name])


def _command_output(command: list[str], **env: str) -> str | None:
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
            env={**os.environ, **env} if env else None,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
