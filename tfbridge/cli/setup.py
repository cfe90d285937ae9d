"""`tfbridge setup`: build each profile's environment from its committed lock."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tfbridge.cli.app import app
from tfbridge.cli.completion import complete_profiles
from tfbridge.cli.output import JsonOption, QuietOption, VerboseOption, console, print_json
from tfbridge.cli.progress import ProgressLines

if TYPE_CHECKING:
    from tfbridge.envs import Step


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
    from tfbridge.envs import setup_profiles  # the domain stays off `tfbridge --help`'s path

    progress = SetupProgress(quiet, verbose)
    with progress:
        results = setup_profiles(
            profiles or [],
            backend=backend,
            python=python,
            prefix=prefix,
            jupyter=jupyter,
            progress=progress.step,
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


class SetupProgress(ProgressLines):
    """Setup's steps on stderr (stdout stays clean for --json): each phase with its time when it
    ends, and on a terminal a spinner naming the phase while it runs."""

    def step(self, step: Step) -> None:
        label = f"[{step.profile}] {step.text}"
        if not step.phase or step.seconds is not None:
            self(label if step.seconds is None else f"{label} {step.seconds:.1f} s")
            return
        self._stop_spinner()
        err = console(stderr=True)
        if err.is_terminal and not self.quiet:
            self._spinner = err.status(self.stamped(label), spinner="dots")
            self._spinner.start()
