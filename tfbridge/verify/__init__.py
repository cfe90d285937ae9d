"""`tfbridge verify`: will the exam's TF 2.9 load this model, meet the contract, and predict the
same? `verify_model(path)` answers for one model, `verify_paths(paths)` for many."""

from __future__ import annotations

from tfbridge.verify.api import verify_model, verify_models, verify_paths, verify_request
from tfbridge.verify.result import Check, ModelReport, VerifyReport
from tfbridge.verify.static import static_check

__all__ = [
    "Check",
    "ModelReport",
    "VerifyReport",
    "static_check",
    "verify_model",
    "verify_models",
    "verify_paths",
    "verify_request",
]
