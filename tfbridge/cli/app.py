"""The Typer application every command module registers on."""

from __future__ import annotations

from typing import Annotated

import typer

from tfbridge.cli import helpformat
from tfbridge.errors import EXIT_CODES_HELP

helpformat.install()

app = typer.Typer(
    name="tfbridge",
    help=(
        "Train Keras models on Apple Silicon (or anywhere) and hand the TensorFlow 2.9 exam "
        "machine models it will load.\n\n" + EXIT_CODES_HELP
    ),
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        from tfbridge import __version__

        typer.echo(f"tfbridge {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            help="Show the traceback of an error (for a bug report); also TFBRIDGE_DEBUG=1.",
        ),
    ] = False,
) -> None:
    """Train Keras models on Apple Silicon (or anywhere) and hand the TensorFlow 2.9 exam machine
    models it will load."""
