"""The one place tfbridge asks TensorFlow for its devices (tests replace it to fake a Mac GPU)."""

from __future__ import annotations

from pathlib import Path

from tfbridge.runtime.client import RuntimeWorker
from tfbridge.runtime.results import Device

DEVICE_QUERY_TIMEOUT = 300.0


def list_devices(python: Path) -> list[Device]:
    """Devices TensorFlow sees in the environment of `python` (CPU, GPU — Metal shows as GPU)."""
    with RuntimeWorker(python, timeout=DEVICE_QUERY_TIMEOUT) as worker:
        return worker.info().devices
