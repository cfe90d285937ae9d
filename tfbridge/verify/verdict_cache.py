"""Runtime verdicts remembered: the same model, contract, fingerprint and exam environment are not
loaded in TensorFlow twice.

One small JSON file per key in the data directory (written atomically, so concurrent writers are
safe). An entry that is missing, damaged or of another shape is a miss, never a pass. Only the
runtime part is cached; the static check is cheap and always runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import msgspec

from tfbridge.contract import Contract
from tfbridge.errors import TfbridgeError
from tfbridge.files import regular_file_problem, write_text_atomic
from tfbridge.verify.result import Check, ModelReport

CACHE_FORMAT = 1
_STATUSES = ("pass", "warn", "fail", "skip")
_OUTCOMES = ("compile", "no-compile", "never", None)


@dataclasses.dataclass(frozen=True)
class CachedVerdict:
    created: str
    runtime_load: str | None
    checks: list[Check]


def verdicts_dir() -> Path:
    from tfbridge.paths import data_home

    return data_home() / "verdicts"


def verdict_key(
    model: Path, contract: Contract | None, trust: bool, exam_identity: str
) -> str | None:
    """The key of this model's runtime verdict, or None when an input cannot be read (no cache)."""
    from tfbridge import __version__
    from tfbridge.hashing import file_sha256
    from tfbridge.runtime import fingerprint_path

    fingerprint = fingerprint_path(model)
    try:
        if regular_file_problem(model) is not None:
            return None
        fingerprint_digest = None
        if fingerprint.exists() or fingerprint.is_symlink():
            if regular_file_problem(fingerprint) is not None:
                return None
            fingerprint_digest = file_sha256(fingerprint)
        inputs = {
            "format": CACHE_FORMAT,
            "model": file_sha256(model),
            "contract": None if contract is None else repr(dataclasses.astuple(contract)),
            "fingerprint": fingerprint_digest,
            "trust": trust,
            "exam": exam_identity,
            "tfbridge": __version__,
        }
    except OSError:
        return None
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode("utf-8")).hexdigest()


def load_verdict(key: str) -> CachedVerdict | None:
    path = verdicts_dir() / f"{key}.json"
    if regular_file_problem(path) is not None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return _parse(data)
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None


def _parse(data: Any) -> CachedVerdict | None:
    if data.get("format") != CACHE_FORMAT or data.get("runtime_load") not in _OUTCOMES:
        return None
    checks = [Check(**entry) for entry in data["checks"]]
    if not checks or any(
        check.status not in _STATUSES or not check.id.startswith("runtime.") for check in checks
    ):
        return None
    return CachedVerdict(str(data["created"]), data["runtime_load"], checks)


def store_verdict(key: str, report: ModelReport, checks: list[Check]) -> None:
    """Remember the runtime checks just made; a cache that cannot be written is no error."""
    entry = {
        "format": CACHE_FORMAT,
        "created": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "model": str(report.path),
        "runtime_load": report.runtime_load,
        "checks": [msgspec.to_builtins(check) for check in checks],
    }
    try:
        verdicts_dir().mkdir(mode=0o700, parents=True, exist_ok=True)
        write_text_atomic(verdicts_dir() / f"{key}.json", json.dumps(entry, indent=1) + "\n")
    except (OSError, TfbridgeError):
        pass


def reuse_check(cached: CachedVerdict) -> Check:
    return Check(
        "runtime.cache",
        "pass",
        f"runtime verdict reused from {cached.created} (same model, contract and exam environment)",
        "pass --no-cache to load it in TF 2.9 again",
    )
