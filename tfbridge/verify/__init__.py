"""`tfbridge verify`: will the exam's TF 2.9 load this model, meet the contract, and predict the
same? `verify(path)` answers for one model, `verify_paths(paths)` for many."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

from tfbridge.verify.api import verify, verify_models, verify_paths
from tfbridge.verify.result import Check, ModelReport, VerifyReport
from tfbridge.verify.static import static_check

__all__ = [
    "Check",
    "ModelReport",
    "VerifyReport",
    "static_check",
    "verify",
    "verify_models",
    "verify_paths",
]


class _CallableModule(types.ModuleType):
    """Once this package is imported, `tfbridge.verify` names it rather than the function that
    `tfbridge.__getattr__` hands out; calling the package keeps `tfbridge.verify(path)` working."""

    def __call__(self, path: Path, **options: Any) -> ModelReport:
        return verify(path, **options)


sys.modules[__name__].__class__ = _CallableModule
