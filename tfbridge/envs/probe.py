"""The one question tfbridge asks inside an environment it built, answered by one process (so one
TensorFlow start): its Python version, the version of each module it imports, the devices
TensorFlow sees (a Metal GPU shows as a GPU) and every distribution installed.

`ask_environment` is the one seam that asks TensorFlow for its devices: tests replace it to play a
Mac with a GPU, and nothing else is replaced.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import msgspec

from tfbridge.errors import EnvironmentFailure
from tfbridge.records import Record

PROBE_TIMEOUT_SECONDS = 600.0

# Runs under the environment's Python (3.8): stdlib and TensorFlow only, 3.8 syntax.
_PROBE_SCRIPT = """
import importlib, json, sys
try:
    from importlib.metadata import distributions, version
except ImportError:
    from importlib_metadata import distributions, version
request = json.loads(sys.argv[1])
report = {"python": "%d.%d.%d" % sys.version_info[:3], "imports": {}}
for module, dist in request["imports"].items():
    try:
        importlib.import_module(module)
        report["imports"][module] = {"ok": True, "version": version(dist)}
    except Exception as error:
        report["imports"][module] = {"ok": False, "error": "%s: %s" % (type(error).__name__, error)}
if request["devices"]:
    try:
        import tensorflow as tf
        found = tf.config.list_physical_devices()
        report["devices"] = [{"device_type": d.device_type, "name": d.name} for d in found]
    except Exception as error:
        report["device_error"] = "%s: %s" % (type(error).__name__, error)
if request["distributions"]:
    names = dict((d.metadata["Name"], d.version) for d in distributions() if d.metadata["Name"])
    report["distributions"] = dict((name.lower(), v) for name, v in names.items())
print(json.dumps(report))
"""


class ImportOutcome(Record, frozen=True):
    ok: bool
    version: str | None = None
    error: str | None = None


class Device(Record, frozen=True):
    """A device TensorFlow sees, e.g. name "/physical_device:GPU:0", device_type "GPU"."""

    device_type: str
    name: str


class EnvReport(Record, frozen=True):
    python: str  # X.Y.Z
    imports: dict[str, ImportOutcome]
    devices: list[Device] | None = None  # None when not asked, or TensorFlow failed
    device_error: str | None = None
    distributions: dict[str, str] | None = None  # name (lower case) -> version, when asked


def ask_environment(
    python: Path, imports: dict[str, str], *, devices: bool, distributions: bool = False
) -> EnvReport:
    """Import each module (module -> distribution) in the environment of `python` and report its
    version; with `devices`, also ask TensorFlow which devices it sees; with `distributions`, list
    every installed distribution. One process."""
    request = json.dumps({"imports": imports, "devices": devices, "distributions": distributions})
    try:
        done = subprocess.run(
            [str(python), "-c", _PROBE_SCRIPT, request],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=PROBE_TIMEOUT_SECONDS,
            check=False,
        )
        last_line = done.stdout.strip().splitlines()[-1]
        return msgspec.json.decode(last_line, type=EnvReport)
    except (OSError, subprocess.TimeoutExpired, IndexError, msgspec.DecodeError):
        raise EnvironmentFailure(
            f"the Python of the environment at {python} did not answer tfbridge's probe",
            "run `tfbridge doctor`, then `tfbridge setup` again",
        ) from None


def list_devices(python: Path) -> list[Device]:
    """Devices TensorFlow sees in the environment of `python` (empty when TensorFlow fails)."""
    return ask_environment(python, {}, devices=True).devices or []


def installed_distributions(python: Path, *, with_devices: bool) -> EnvReport:
    """Every distribution installed in the environment of `python` (and, when asked, its
    devices), in one process."""
    return ask_environment(python, {}, devices=with_devices, distributions=True)
