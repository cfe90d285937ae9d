"""How domain code says what it is doing: it calls a `Progress` with one line for people; the CLI
decides whether and how to show it (tfbridge.cli.progress). Domain code never prints."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str], None]
