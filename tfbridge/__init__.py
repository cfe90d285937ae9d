"""tfbridge: train Keras models anywhere, hand the TF 2.9 exam machine models it loads.

The public Python API, one entry point per domain:

- `verify_model(path)` / `verify_paths(paths)` -> `ModelReport` / `VerifyReport`
- `convert_model(source, output)` -> `ConversionReport`
- `write_fingerprints(models, python=...)`: reference predictions beside each model
- `sync_slots(load_config(), names)`: verified models into their exam slots

Every name is imported on first use, so `import tfbridge` (and the CLI's start-up) pulls in
neither h5py nor numpy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

if TYPE_CHECKING:
    from tfbridge.config import load_config as load_config
    from tfbridge.convert import ConversionReport as ConversionReport
    from tfbridge.convert import convert as convert_model
    from tfbridge.fingerprinting import write_fingerprints as write_fingerprints
    from tfbridge.sync import sync as sync_slots
    from tfbridge.verify import ModelReport as ModelReport
    from tfbridge.verify import VerifyReport as VerifyReport
    from tfbridge.verify import verify_model as verify_model
    from tfbridge.verify import verify_paths as verify_paths

# Public name -> (module, attribute). `convert` and `sync` are packages too, so their functions
# get names of their own here: a package and a function never share one name.
_LAZY = {
    "verify_model": ("tfbridge.verify", "verify_model"),
    "verify_paths": ("tfbridge.verify", "verify_paths"),
    "ModelReport": ("tfbridge.verify", "ModelReport"),
    "VerifyReport": ("tfbridge.verify", "VerifyReport"),
    "convert_model": ("tfbridge.convert", "convert"),
    "ConversionReport": ("tfbridge.convert", "ConversionReport"),
    "write_fingerprints": ("tfbridge.fingerprinting", "write_fingerprints"),
    "load_config": ("tfbridge.config", "load_config"),
    "sync_slots": ("tfbridge.sync", "sync"),
}

__all__ = [
    "ConversionReport",
    "ModelReport",
    "VerifyReport",
    "__version__",
    "convert_model",
    "load_config",
    "sync_slots",
    "verify_model",
    "verify_paths",
    "write_fingerprints",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'tfbridge' has no attribute {name!r}")
    module, attribute = _LAZY[name]
    return getattr(importlib.import_module(module), attribute)


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
