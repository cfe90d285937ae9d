"""Whether a venv lock is still what `tfbridge lock` wrote: a digest of every package entry (name,
version, files, sha256s) is recorded in the lock's `[tool.tfbridge.package-digests]` table, so a
hand edit, such as one altered sha256, is caught before uv is asked to install anything.

A hand-edited lock is refused with exit 2 by `tfbridge setup` (its input is not valid, as with a
stale lock) and reported as not OK (exit 1) by `tfbridge lock --check`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

DIGESTS_TABLE = "package-digests"
_TABLE_HEADER = f"\n[tool.tfbridge.{DIGESTS_TABLE}]\n"


def package_digests(packages: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Package name -> sha256 of its lock entries (all of them, where a name has several)."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for entry in packages:
        by_name.setdefault(str(entry["name"]), []).append(entry)
    return {name: _sha256_of(entries) for name, entries in sorted(by_name.items())}


def content_digest(digests: dict[str, str]) -> str:
    """One sha256 for the whole package list: what an environment built from the lock records."""
    return _sha256_of(digests)


def hand_edit(recorded: dict[str, str] | None, computed: dict[str, str]) -> str | None:
    """What changed since the lock was written (e.g. 'numpy was removed'), or None."""
    if recorded is None:
        return f"it has no [tool.tfbridge.{DIGESTS_TABLE}] table"
    for name in sorted(recorded.keys() | computed.keys()):
        if name not in computed:
            return f"{name} was removed"
        if name not in recorded:
            return f"{name} was added"
        if recorded[name] != computed[name]:
            return f"the version, files or sha256 of {name} changed"
    return None


def sha256_without_digests(path: Path) -> str:
    """sha256 of the lock as it was before it recorded package digests (older environment records
    hold that), i.e. of the file without the digests table at its end."""
    text = path.read_text(encoding="utf-8")
    return hashlib.sha256(text.split(_TABLE_HEADER, 1)[0].encode("utf-8")).hexdigest()


def _sha256_of(value: object) -> str:
    # tomllib reads upload times as datetimes; str() gives them one stable spelling.
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
