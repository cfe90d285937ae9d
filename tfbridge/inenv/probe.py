"""The one question tfbridge asks an environment about itself, answered by one worker process (so
at most one TensorFlow start): its Python, the versions of distributions, whether modules import
(and at which version) and, when asked, the devices TensorFlow sees (a Metal GPU shows as a GPU).

`ask_environment` is the one seam that asks TensorFlow for its devices: tests replace it to play a
Mac with or without a GPU, and nothing else is replaced.
"""

from __future__ import annotations

from pathlib import Path

from tfbridge.inenv.client import WorkerClient
from tfbridge.inenv.protocol import EnvironmentProbe
from tfbridge.inenv.results import Device

PROBE_TIMEOUT_SECONDS = 600.0


def probe_environment(
    python: Path,
    imports: dict[str, str],
    *,
    distributions: list[str] | None = None,
    devices: bool = False,
    timeout: float = PROBE_TIMEOUT_SECONDS,
) -> EnvironmentProbe:
    """What the environment of `python` has: its Python, the versions of `distributions` (None
    where missing), whether each of `imports` ({module: its distribution}) imports and at which
    version, and with `devices` the devices TensorFlow sees. TensorFlow is imported only for
    `devices` or when it is among `imports`."""
    return ask_environment(python, imports, list(distributions or []), devices, timeout)


def list_devices(python: Path) -> list[Device]:
    """Devices TensorFlow sees in the environment of `python` (CPU, GPU — Metal shows as GPU);
    empty when TensorFlow cannot list them."""
    return probe_environment(python, {}, devices=True).devices or []


def ask_environment(
    python: Path, imports: dict[str, str], distributions: list[str], devices: bool, timeout: float
) -> EnvironmentProbe:
    """The seam: one lazy worker under `python` answers one probe request."""
    with WorkerClient(python, timeout=timeout, lazy=True) as worker:
        return worker.probe(distributions, imports, devices=devices)
