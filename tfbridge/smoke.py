"""The smoke test run inside a freshly built environment: Python version, each profile import at its
pinned version, and the devices TensorFlow sees (a GPU where the profile needs one)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tfbridge.errors import EnvironmentFailure
from tfbridge.profiles import Profile

# Runs under the environment's Python (3.8): keep it 3.8-compatible.
_IMPORT_SCRIPT = """
import importlib, json, sys
try:
    from importlib.metadata import version
except ImportError:
    from importlib_metadata import version
report = {"python": "%d.%d.%d" % sys.version_info[:3], "imports": {}}
for module, dist in json.loads(sys.argv[1]).items():
    try:
        importlib.import_module(module)
        report["imports"][module] = {"ok": True, "version": version(dist)}
    except Exception as error:
        report["imports"][module] = {"ok": False, "error": "%s: %s" % (type(error).__name__, error)}
print(json.dumps(report))
"""


def run_smoke_test(profile: Profile, python: Path) -> dict[str, Any]:
    report = _import_report(profile, python)
    problems = list(_import_problems(profile, report))
    devices = _device_names(python)
    report["devices"] = devices
    if profile.gpu_required and not any("GPU" in d for d in devices):
        problems.append(f"TensorFlow sees no GPU (devices: {', '.join(devices) or 'none'})")
    if problems:
        raise EnvironmentFailure(
            f"the new '{profile.name}' environment failed its smoke test: {'; '.join(problems)}",
            "it was not kept; run `tfbridge doctor`, then `tfbridge setup` again",
        )
    return report


def _import_report(profile: Profile, python: Path) -> dict[str, Any]:
    try:
        done = subprocess.run(
            [str(python), "-c", _IMPORT_SCRIPT, json.dumps(profile.imports)],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
        raise EnvironmentFailure(
            f"the new '{profile.name}' environment's Python ({python}) did not run its smoke test",
            "it was not kept; run `tfbridge setup` again",
        ) from None
    return report


def _import_problems(profile: Profile, report: dict[str, Any]) -> list[str]:
    problems = []
    python_minor = ".".join(str(report.get("python", "")).split(".")[:2])
    if python_minor != profile.python:
        problems.append(f"Python is {report.get('python')}, not {profile.python}")
    pins = profile.pinned_versions
    for module, outcome in report.get("imports", {}).items():
        if not outcome.get("ok"):
            problems.append(f"`import {module}` fails ({outcome.get('error')})")
            continue
        wanted = pins.get(profile.imports[module].lower())
        if wanted and outcome.get("version") != wanted:
            problems.append(f"{module} is {outcome.get('version')}, not the pinned {wanted}")
    return problems


def _device_names(python: Path) -> list[str]:
    from tfbridge.runtime import list_devices

    return [f"{device.device_type}:{device.name}" for device in list_devices(python)]
