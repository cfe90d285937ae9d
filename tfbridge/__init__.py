"""tfbridge: train Keras models anywhere, hand the TF 2.9 exam machine models it loads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from tfbridge.verify import verify as verify

__all__ = ["__version__", "verify"]


def __getattr__(name: str) -> Any:
    # Lazy, so `import tfbridge` (and the CLI's start-up) never pulls in h5py or numpy.
    if name == "verify":
        from tfbridge.verify import verify

        return verify
    raise AttributeError(f"module 'tfbridge' has no attribute {name!r}")
