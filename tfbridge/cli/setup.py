"""`tfbridge setup`: build each profile's environment from its committed lock."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tfbridge.cli.app import app
from tfbridge.cli.completion import complete_profiles
from tfbridge.cli.output import JsonOption, QuietOption, VerboseOption, console, print_json
from tfbridge.cli.progress import ProgressLines


@app.command()
def setup(
    profiles: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="PROFILE",
            help="Profiles to build (default: this machine's, metal or exam).",
            autocompletion=complete_profiles,
        ),
    ] = None,
    backend: Annotated[
        str,
        typer.Option(
            metavar="BACKEND",
            help="auto (conda when conda/mamba/micromamba exists), conda or venv.",
        ),
    ] = "auto",
    python: Annotated[
        Path | None,
        typer.Option(
            metavar="PYTHON", help="Interpreter to build the venv from (right X.Y version)."
        ),
    ] = None,
    prefix: Annotated[
        Path | None, typer.Option(metavar="DIR", help="Directory to keep the environments in.")
    ] = None,
    jupyter: Annotated[bool, typer.Option(help="Register a Jupyter kernel per profile.")] = False,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Build locked environments (idempotent: an env built from the current lock is left alone)."""
    from tfbridge.envs import setup_profiles

    steps = ProgressLines(quiet, verbose)
    results = setup_profiles(
        profiles or [],
        backend=backend,
        python=python,
        prefix=prefix,
        jupyter=jupyter,
        progress=lambda profile, message: steps(f"[{profile}] {message}"),
    )
    if json_output:
        print_json({"environments": results})
        return
    for result in results:
        state = "built" if result.changed else "already up to date"
        console().print(f"{result.profile}: {state} in {result.seconds:.1f} s ({result.backend})")
        console().print(f"  interpreter for PyCharm: {result.python}", markup=False)
        if result.jupyter_kernel:
            console().print(f"  Jupyter kernel: {result.jupyter_kernel}", markup=False)
