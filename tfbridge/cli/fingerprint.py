"""`tfbridge fingerprint`: record a model's reference outputs in the environment that trained it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tfbridge.cli.app import app
from tfbridge.cli.completion import complete_profiles
from tfbridge.cli.output import (
    JsonOption,
    QuietOption,
    VerboseOption,
    console,
    error_object,
    print_json,
)
from tfbridge.cli.progress import ProgressLines
from tfbridge.model_files import printable_path

if TYPE_CHECKING:
    from tfbridge.fingerprinting import FingerprintOutcome

ModelsArgument = Annotated[
    list[Path],
    typer.Argument(
        help="Model .h5 files (directories: every .h5 inside).",
        metavar="MODEL...",
        show_default=False,
        # Each path's problems are that model's own, reported per model, not click's.
        readable=False,
    ),
]
PythonOption = Annotated[
    Path | None,
    typer.Option(
        "--python", help="Interpreter (or environment) that trained the models.", show_default=False
    ),
]
ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile",
        help="Use this profile's environment (default: metal on Apple Silicon, else exam).",
        show_default=False,
        autocompletion=complete_profiles,
    ),
]
TrustOption = Annotated[
    bool,
    typer.Option("--trust", help="Load models with Lambda layers or unknown classes too."),
]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", help="Seconds allowed for TensorFlow's import and each model.")
]


@app.command()
def fingerprint(
    models: ModelsArgument,
    python: PythonOption = None,
    profile: ProfileOption = None,
    timeout: TimeoutOption = 600.0,
    trust: TrustOption = False,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Write MODEL.fingerprint.json beside each model: its outputs on fixed probe inputs.

    `tfbridge verify` later feeds the same probes in the exam runtime and compares.
    Exits 1 when any model could not be fingerprinted, 3 when the TensorFlow worker failed.
    """
    from tfbridge.errors import EXIT_ENVIRONMENT, EXIT_FAILED, EnvironmentFailure
    from tfbridge.fingerprinting import write_fingerprints
    from tfbridge.runtime.environment import runtime_python
    from tfbridge.runtime.fingerprint import expand_model_paths

    files = expand_model_paths(models)
    interpreter = runtime_python(python, profile)
    with ProgressLines(quiet or json_output, verbose) as progress:
        progress(f"starting TensorFlow in {interpreter}")
        outcomes = write_fingerprints(
            files,
            interpreter,
            progress=lambda model: progress(f"fingerprinting {model}"),
            timeout=timeout,
            trust=trust,
        )
    broken = [o.error for o in outcomes if o.exit_code == EXIT_ENVIRONMENT and o.error]
    failure = None
    if broken:
        failure = EnvironmentFailure(
            broken[0], "check the environment with `tfbridge doctor`, or allow more --timeout"
        )
    if json_output:
        document: dict[str, object] = {
            "python": interpreter,
            "models": [_as_json(o) for o in outcomes],
        }
        if failure is not None:
            document["error"] = error_object(failure.message, failure.hint, failure.exit_code)
        print_json(document)
    else:
        _render(outcomes, quiet)
    if failure is not None:
        raise failure
    if not all(outcome.ok for outcome in outcomes):
        raise typer.Exit(EXIT_FAILED)


def _as_json(outcome: FingerprintOutcome) -> dict[str, object]:
    return {
        "model": outcome.model,
        "ok": outcome.ok,
        "fingerprint": outcome.path,
        "error": outcome.error,
    }


def _render(outcomes: list[FingerprintOutcome], quiet: bool) -> None:
    """A row per model; -q: only the failures (nothing when every model was fingerprinted)."""
    shown = [outcome for outcome in outcomes if not (quiet and outcome.ok)]
    if not shown:
        return
    from rich.table import Table

    table = Table("model", "status", "fingerprint or error")
    for outcome in shown:
        detail = str(outcome.path) if outcome.ok else str(outcome.error)
        table.add_row(
            printable_path(outcome.model), "ok" if outcome.ok else "fail", printable_path(detail)
        )
    console().print(table)
    failed = sum(not outcome.ok for outcome in outcomes)
    console().print(f"{len(outcomes) - failed} fingerprinted, {failed} failed", markup=False)
