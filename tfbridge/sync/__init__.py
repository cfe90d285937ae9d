"""Put the right model in each exam slot on the grading machine (SSH or a local directory)."""

from tfbridge.sync.engine import open_transport, sync
from tfbridge.sync.result import (
    RemoteVerdict,
    RollbackResult,
    SlotStatus,
    SlotSync,
    StatusReport,
    SyncReport,
)
from tfbridge.sync.rollback import rollback
from tfbridge.sync.status import status

__all__ = [
    "RemoteVerdict",
    "RollbackResult",
    "SlotStatus",
    "SlotSync",
    "StatusReport",
    "SyncReport",
    "open_transport",
    "rollback",
    "status",
    "sync",
]
