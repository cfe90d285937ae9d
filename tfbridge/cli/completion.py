"""Shell completion of profile and slot names: cheap, and silent when the config is broken."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tfbridge.errors import TfbridgeError


def complete_profiles(incomplete: str) -> list[str]:
    """Profile names in the profiles folder (`envs/` or TFBRIDGE_PROFILES)."""
    from tfbridge.paths import profile_names

    try:
        names = profile_names()
    except OSError:
        return []
    return [name for name in names if name.startswith(incomplete)]


def complete_slots(incomplete: str) -> list[str]:
    """Slot names of the project's tfbridge.toml (or [tool.tfbridge]); none if it cannot be read."""
    try:
        slots = _slot_table()
    except (TfbridgeError, OSError, ValueError, RecursionError):
        return []
    return [name for name in slots if isinstance(name, str) and name.startswith(incomplete)]


def _slot_table() -> Mapping[str, Any]:
    from tfbridge.config import find_config_file, read_config_table

    source = find_config_file()
    if source is None:
        return {}
    data = read_config_table(source)
    slots = data.get("slots") if isinstance(data, Mapping) else None
    return slots if isinstance(slots, Mapping) else {}
