"""Runtime verdicts remembered: the same model, contract, fingerprint and exam environment are not
loaded in TensorFlow twice.

One small JSON file per key in the data directory (written atomically, so concurrent writers are
safe). An entry that is missing, damaged or of another shape is a miss, never a pass. Only the
runtime part is cached; the static check is cheap and always runs.

The cache stays small: each write prunes it to the MAX_ENTRIES most recently used entries (a reuse
touches its entry) and, once a day, drops those unused for MAX_AGE_DAYS. Pruners and writers may
race: an entry removed twice, or removed while read, is only a miss.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import msgspec

from tfbridge.contract import Contract
from tfbridge.errors import TfbridgeError
from tfbridge.files import regular_file_problem, write_text_atomic
from tfbridge.verify.result import Check, ModelReport

CACHE_FORMAT = 1
MAX_ENTRIES = 2000
MAX_AGE_DAYS = 90
PRUNED_STAMP = ".pruned"  # when the age pass last ran
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
        cached = _parse(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None
    if cached is not None:
        with contextlib.suppress(OSError):
            os.utime(path)  # used now: pruning keeps the most recently used entries
    return cached


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
    directory = verdicts_dir()
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_text_atomic(directory / f"{key}.json", json.dumps(entry, indent=1) + "\n")
    except (OSError, TfbridgeError):
        return
    prune_verdicts(directory)


def prune_verdicts(directory: Path) -> int:
    """Remove the entries beyond the MAX_ENTRIES most recently used, and those unused for
    MAX_AGE_DAYS; return how many went. Cheap on most writes: a listing of names; the pass that
    stats every entry runs only when there are too many, or once a day for their age."""
    names = _entry_names(directory)
    stamp = directory / PRUNED_STAMP
    if len(names) <= MAX_ENTRIES and not _age_pass_due(stamp):
        return 0
    with contextlib.suppress(OSError):
        stamp.touch()
    entries = _by_last_use(directory, names)
    cutoff = time.time() - MAX_AGE_DAYS * 86400
    doomed = entries[MAX_ENTRIES:] + [e for e in entries[:MAX_ENTRIES] if e[0] < cutoff]
    removed = 0
    for _, path in doomed:
        with contextlib.suppress(OSError):  # another pruner took it first
            path.unlink()
            removed += 1
    return removed


def _entry_names(directory: Path) -> list[str]:
    try:
        return [n for n in os.listdir(directory) if n.endswith(".json") and not n.startswith(".")]
    except OSError:
        return []


def _age_pass_due(stamp: Path) -> bool:
    try:
        return time.time() - stamp.stat().st_mtime > 86400
    except OSError:
        return True


def _by_last_use(directory: Path, names: list[str]) -> list[tuple[float, Path]]:
    """(last use, path) of each entry, most recent first."""
    entries = []
    for name in names:
        path = directory / name
        with contextlib.suppress(OSError):  # another pruner took it first
            entries.append((path.lstat().st_mtime, path))
    return sorted(entries, reverse=True)


def reuse_check(cached: CachedVerdict) -> Check:
    return Check(
        "runtime.cache",
        "pass",
        f"runtime verdict reused from {cached.created} (same model, contract and exam environment)",
        "pass --no-cache to load it in TF 2.9 again",
    )
