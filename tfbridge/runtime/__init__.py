"""Run models in a real TensorFlow environment: the worker, its client, fingerprints and parity.

Importing this package does not import numpy, h5py or TensorFlow; only using it does.
"""

from tfbridge.runtime.client import RuntimeWorker, probe_environment
from tfbridge.runtime.devices import list_devices
from tfbridge.runtime.fingerprint import (
    Fingerprint,
    FingerprintOutcome,
    carry_fingerprint,
    compare_with_fingerprint,
    fingerprint_path,
    read_fingerprint,
    write_fingerprint,
    write_fingerprints,
)
from tfbridge.runtime.parity import compare_outputs
from tfbridge.runtime.results import (
    Device,
    LoadResult,
    Parity,
    ProbeInput,
    ProbeResult,
    RuntimeInfo,
)

__all__ = [
    "Device",
    "Fingerprint",
    "FingerprintOutcome",
    "LoadResult",
    "Parity",
    "ProbeInput",
    "ProbeResult",
    "RuntimeInfo",
    "RuntimeWorker",
    "carry_fingerprint",
    "compare_outputs",
    "compare_with_fingerprint",
    "fingerprint_path",
    "list_devices",
    "probe_environment",
    "read_fingerprint",
    "write_fingerprint",
    "write_fingerprints",
]
