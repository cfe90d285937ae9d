"""Entry point: register the commands, run them, report errors.

One line, one exit code, never a traceback.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

# Importing a command module registers its commands on `app`; each keeps heavy imports inside
# its functions so `tfbridge --help` stays fast.
from tfbridge.cli import (  # noqa: F401  (imported for their registrations)
    convert,
    doctor,
    env,
    fingerprint,
    lock,
    setup,
    sync,
    train,
    verify,
)
from tfbridge.cli.app import app
from tfbridge.errors import TfbridgeError


def _interrupt(signum: int, frame: FrameType | None) -> None:
    sys.stderr.write("error: interrupted; stopping and removing any half-done work.\n")
    raise KeyboardInterrupt  # Typer turns it into exit code 130


def run() -> None:
    # SIGTERM unwinds like Ctrl-C: child processes (uv, workers) are stopped and partial work
    # (an environment being built, an upload) is cleaned up rather than orphaned.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        app()
    except TfbridgeError as error:
        sys.stderr.write(f"error: {error.one_line()}\n")
        sys.exit(error.exit_code)
