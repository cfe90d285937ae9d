"""Entry point: register the commands, run them, report errors.

One line, one exit code, never a traceback (unless asked for with --debug or TFBRIDGE_DEBUG=1).
With --json, exactly one JSON object on stdout, on failure too.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import typer

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
    worker,
)
from tfbridge.cli.app import app
from tfbridge.cli.output import print_error_json, start_command
from tfbridge.errors import EXIT_USAGE, TfbridgeError

DEBUG_ENV_VAR = "TFBRIDGE_DEBUG"
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM, as shells report a SIGINT
BUG_HINT = (
    "this is a bug in tfbridge: run again with --debug (or TFBRIDGE_DEBUG=1) for the traceback "
    "and report it"
)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    sys.stderr.write("error: interrupted; stopping and removing any half-done work.\n")
    raise KeyboardInterrupt  # Typer turns it into exit code 130


def _options(argv: list[str]) -> list[str]:
    """The arguments before `--` (after it they belong to a training script)."""
    return argv[: argv.index("--")] if "--" in argv else argv


def _wants_debug(argv: list[str]) -> bool:
    return "--debug" in _options(argv) or os.environ.get(DEBUG_ENV_VAR, "") not in ("", "0")


def _fail(error: TfbridgeError, json_output: bool) -> None:
    sys.stderr.write(f"error: {error.one_line()}\n")
    if json_output:
        print_error_json(error.message, error.hint, error.exit_code)
    sys.exit(error.exit_code)


def _click_error(error: Exception, json_output: bool) -> None:
    """Handle click's own exceptions (Typer vendors click, so they are matched by name)."""
    name = type(error).__name__
    if name == "NoArgsIsHelpError":
        error.show()  # type: ignore[attr-defined]
        sys.exit(EXIT_USAGE)
    if name == "Abort":
        sys.exit(EXIT_INTERRUPTED)
    if hasattr(error, "format_message") and hasattr(error, "exit_code"):
        context = getattr(error, "ctx", None)
        command = "tfbridge" if context is None else context.command_path
        hint = f"run `{command} --help` for usage"
        _fail(TfbridgeError(error.format_message(), hint, EXIT_USAGE), json_output)


@functools.cache
def _command() -> Callable[..., Any]:
    """The click command Typer builds from `app`: built once per process, which may run several
    commands (the tests run the CLI in-process; building it takes 30 ms)."""
    return typer.main.get_command(app)


def run() -> None:
    # SIGTERM unwinds like Ctrl-C: child processes (uv, workers) are stopped and partial work
    # (an environment being built, an upload) is cleaned up rather than orphaned.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    start_command()
    argv = sys.argv[1:]
    debug = _wants_debug(argv)
    json_output = "--json" in _options(argv)
    if "--debug" in _options(argv):
        cut = len(_options(argv))
        argv = [arg for arg in argv[:cut] if arg != "--debug"] + argv[cut:]
    try:
        code = _command()(args=argv, prog_name="tfbridge", standalone_mode=False)
    except TfbridgeError as error:
        if debug:
            raise
        _fail(error, json_output)
    except Exception as error:
        if debug:
            raise
        _click_error(error, json_output)
        message = f"internal error: {type(error).__name__}: {error}".splitlines()[0]
        _fail(TfbridgeError(message[:300], BUG_HINT, EXIT_USAGE), json_output)
    if code == EXIT_INTERRUPTED and json_output:
        print_error_json("interrupted", "run the command again; half-done work was removed", code)
    sys.exit(code if isinstance(code, int) else 0)
