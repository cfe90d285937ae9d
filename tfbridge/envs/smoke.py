"""The smoke test of a freshly built environment, in one process (one TensorFlow start): the Python
version, each profile import at its pinned version, and the devices TensorFlow sees (a GPU where the
profile needs one)."""

from __future__ import annotations

from pathlib import Path

from packaging.utils import canonicalize_name

from tfbridge.envs.profiles import Profile
from tfbridge.errors import EnvironmentFailure
from tfbridge.inenv import EnvironmentProbe, ImportOutcome, probe_environment
from tfbridge.records import Record


class SmokeReport(Record, frozen=True):
    """What a new environment answered, as its marker records it."""

    python: str  # X.Y.Z
    imports: dict[str, ImportOutcome]  # module -> its distribution's version
    devices: list[str]  # "CPU:/physical_device:CPU:0"


def run_smoke_test(profile: Profile, python: Path) -> SmokeReport:
    """What the environment answered; EnvironmentFailure if anything is wrong."""
    report = probe_environment(python, profile.imports, devices=True)
    problems = [*_import_problems(profile, report), *_device_problems(profile, report)]
    if problems:
        raise EnvironmentFailure(
            f"the new '{profile.name}' environment failed its smoke test: {'; '.join(problems)}",
            "it was not kept; run `tfbridge doctor`, then `tfbridge setup` again",
        )
    devices = [f"{d.device_type}:{d.name}" for d in report.devices or []]
    return SmokeReport(python=report.python_version, imports=report.imports, devices=devices)


def _import_problems(profile: Profile, report: EnvironmentProbe) -> list[str]:
    problems = []
    python_minor = ".".join(report.python_version.split(".")[:2])
    if python_minor != profile.python:
        problems.append(f"Python is {report.python_version}, not {profile.python}")
    pins = profile.pinned_versions
    for module, outcome in report.imports.items():
        if not outcome.ok:
            problems.append(f"`import {module}` fails ({outcome.error})")
            continue
        wanted = pins.get(canonicalize_name(profile.imports[module]))
        if wanted and outcome.version != wanted:
            problems.append(f"{module} is {outcome.version}, not the pinned {wanted}")
    return problems


def _device_problems(profile: Profile, report: EnvironmentProbe) -> list[str]:
    if report.devices is None:
        return [f"TensorFlow cannot list its devices ({report.device_error})"]
    names = [f"{d.device_type}:{d.name}" for d in report.devices]
    if profile.gpu_required and not any(d.device_type == "GPU" for d in report.devices):
        return [f"TensorFlow sees no GPU (devices: {', '.join(names) or 'none'})"]
    return []
