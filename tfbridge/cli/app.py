"""The Typer application every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="tfbridge",
    help=(
        "Train Keras models on Apple Silicon (or anywhere) and hand the TensorFlow 2.9 exam "
        "machine models it will load."
    ),
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
