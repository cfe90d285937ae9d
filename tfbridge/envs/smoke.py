"""The smoke test of a freshly built environment, in one process (one TensorFlow start): the Python
version, each profile import at its pinned version, and the devices TensorFlow sees (a GPU where the
profile needs one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tfbridge.envs import probe
from tfbridge.envs.profiles import Profile
from tfbridge.errors import EnvironmentFailure


def run_smoke_test(profile: Profile, python: Path) -> dict[str, Any]:
    """What the environment answered, as its marker records it; EnvironmentFailure if anything
    is wrong."""
    report = probe.ask_environment(python, profile.imports, devices=True)
    problems = [*_import_problems(profile, report), *_device_problems(profile, report)]
    if problems:
        raise EnvironmentFailure(
            f"the new '{profile.name}' environment failed its smoke test: {'; '.join(problems)}",
            "it was not kept; run `tfbridge doctor`, then `tfbridge setup` again",
        )
    return {
        "python": report.python,
        "imports": {
            module: {"ok": outcome.ok, "version": outcome.version}
            for module, outcome in report.imports.items()
        },
        "devices": [f"{d.device_type}:{d.name}" for d in report.devices or []],
    }


def _import_problems(profile: Profile, report: probe.EnvReport) -> list[str]:
    problems = []
    python_minor = ".".join(report.python.split(".")[:2])
    if python_minor != profile.python:
        problems.append(f"Python is {report.python}, not {profile.python}")
    pins = profile.pinned_versions
    for module, outcome in report.imports.items():
        if not outcome.ok:
            problems.append(f"`import {module}` fails ({outcome.error})")
            continue
        wanted = pins.get(profile.imports[module].lower())
        if wanted and outcome.version != wanted:
            problems.append(f"{module} is {outcome.version}, not the pinned {wanted}")
    return problems


def _device_problems(profile: Profile, report: probe.EnvReport) -> list[str]:
    if report.devices is None:
        return [f"TensorFlow cannot list its devices ({report.device_error})"]
    names = [f"{d.device_type}:{d.name}" for d in report.devices]
    if profile.gpu_required and not any(d.device_type == "GPU" for d in report.devices):
        return [f"TensorFlow sees no GPU (devices: {', '.join(names) or 'none'})"]
    return []
