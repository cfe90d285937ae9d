"""`tfbridge setup`: build each profile's environment from its committed lock."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from tfbridge.cli.app import app
from tfbridge.cli.output import JsonOption, QuietOption, console, info, print_json


@app.command()
def setup(
    profiles: Annotated[
        list[str] | None,
        typer.Argument(help="Profiles to build (default: this machine's, metal or exam)."),
    ] = None,
    backend: Annotated[
        str, typer.Option(help="auto (conda when conda/mamba/micromamba exists), conda or venv.")
    ] = "auto",
    python: Annotated[
        Path | None, typer.Option(help="Interpreter to build the venv from (right X.Y version).")
    ] = None,
    prefix: Annotated[
        Path | None, typer.Option(help="Directory to keep the environments in.")
    ] = None,
    jupyter: Annotated[bool, typer.Option(help="Register a Jupyter kernel per profile.")] = False,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Build locked environments (idempotent: an env built from the current lock is left alone)."""
    from tfbridge.envs import setup_profile
    from tfbridge.errors import TfbridgeError
    from tfbridge.hardware import detect
    from tfbridge.jupyter import register_kernel
    from tfbridge.profiles import default_profile_name

    if backend not in ("auto", "conda", "venv"):
        raise TfbridgeError(f"unknown backend '{backend}'", "use auto, conda or venv")
    hardware = detect()
    results = []
    for name in profiles or [default_profile_name(hardware)]:
        result = setup_profile(
            name,
            backend=backend,  # type: ignore[arg-type]  # validated above
            python=python,
            prefix=prefix,
            hardware=hardware,
            progress=_progress_printer(name, quiet),
        )
        kernel = register_kernel(name, result.python) if jupyter else None
        results.append((result, kernel))
    if json_output:
        print_json([{**_as_dict(r), "jupyter_kernel": k} for r, k in results])
        return
    for result, kernel in results:
        state = "built" if result.changed else "already up to date"
        console().print(f"{result.profile}: {state} in {result.seconds:.1f} s ({result.backend})")
        console().print(f"  interpreter for PyCharm: {result.python}", markup=False)
        if kernel:
            console().print(f"  Jupyter kernel: {kernel}", markup=False)


def _progress_printer(profile: str, quiet: bool) -> Callable[[str], None]:
    return lambda message: info(f"[{profile}] {message}", quiet)


def _as_dict(result: object) -> dict[str, object]:
    from tfbridge.cli.output import to_jsonable

    data = to_jsonable(result)
    assert isinstance(data, dict)
    return data
