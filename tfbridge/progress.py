"""How domain code says what it is doing, a line at a time: it calls a `Progress` with one line
for people, and the CLI decides whether and how to show it (tfbridge.cli.progress). Commands with
stages, items and byte counts (sync, train) report `tfbridge.phases.Phase`s instead; domain code
never prints."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str], None]
