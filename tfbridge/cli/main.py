"""Entry point: register the commands, run them, report errors.

One line, one exit code, never a traceback.
"""

from __future__ import annotations

import sys

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


def run() -> None:
    try:
        app()
    except TfbridgeError as error:
        sys.stderr.write(f"error: {error.one_line()}\n")
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted; nothing was left half-done.\n")
        sys.exit(130)
