"""Inside an environment: tfbridge's one in-environment module (`worker.py`), how it is shipped to
an interpreter (`shipping`), the conversations it is spoken to over (`conversation`), its protocol
(`protocol`, `results`), the client that speaks it (`client`) and the one-shot question about an
environment (`probe`: versions, imports, devices).

This package is the floor under `envs` and `runtime`: it imports only tfbridge's errors, files and
records, so both can use it. Importing it does not import numpy, h5py or TensorFlow.
"""

from tfbridge.inenv.client import WorkerClient, WorkerTimeout
from tfbridge.inenv.probe import list_devices, probe_environment
from tfbridge.inenv.protocol import EnvironmentProbe, ImportOutcome
from tfbridge.inenv.results import Device, LoadResult, ProbeInput, ProbeResult, RuntimeInfo

__all__ = [
    "Device",
    "EnvironmentProbe",
    "ImportOutcome",
    "LoadResult",
    "ProbeInput",
    "ProbeResult",
    "RuntimeInfo",
    "WorkerClient",
    "WorkerTimeout",
    "list_devices",
    "probe_environment",
]
