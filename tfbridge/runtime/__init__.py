"""Run models in a real TensorFlow environment: the model client (RuntimeWorker) of the
in-environment worker (tfbridge.inenv), the warm worker (`daemon`), fingerprints and parity.

Importing this package does not import numpy, h5py or TensorFlow; only using it does.
"""

from tfbridge.inenv.results import Device, LoadResult, ProbeInput, ProbeResult, RuntimeInfo
from tfbridge.runtime.client import RuntimeWorker
from tfbridge.runtime.fingerprint import (
    Fingerprint,
    carry_fingerprint,
    compare_with_fingerprint,
    fingerprint_path,
    read_fingerprint,
    write_fingerprint,
)
from tfbridge.runtime.parity import Parity, compare_outputs

__all__ = [
    "Device",
    "Fingerprint",
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
    "read_fingerprint",
    "write_fingerprint",
]
