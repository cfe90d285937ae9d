"""`tfbridge convert`: rewrite a newer-Keras .h5 into one the exam's TensorFlow 2.9 loads."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tfbridge.cli.app import app
from tfbridge.cli.output import (
    JsonOption,
    QuietOption,
    VerboseOption,
    console,
    error_object,
    info,
    print_json,
)
from tfbridge.cli.progress import ProgressLines
from tfbridge.model_files import printable_path

if TYPE_CHECKING:
    from tfbridge.convert import ConversionRefused, ConversionReport

SourceArgument = Annotated[
    Path,
    typer.Argument(
        help="The .h5 model to convert (never modified).", metavar="IN.h5", show_default=False
    ),
]
OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Where to write (default: IN.tf29.h5 beside the input)."),
]
DropOptimizerOption = Annotated[
    bool,
    typer.Option(
        "--drop-optimizer",
        help=(
            "Leave out the training config (optimizer, loss, metrics): for optimizers, schedules "
            "or losses Keras 2.9 lacks. The model then loads uncompiled."
        ),
    ),
]
ReferencePythonOption = Annotated[
    Path | None,
    typer.Option(
        "--reference-python",
        help=(
            "The Python of the environment that saved the model: fingerprints the original "
            "there first when it has no fingerprint, so the output's predictions can be checked."
        ),
    ),
]
TrustOption = Annotated[
    bool,
    typer.Option(
        "--trust",
        help="Load a model with Lambda layers for the parity check (loading runs their code).",
    ),
]
NoParityOption = Annotated[
    bool,
    typer.Option(
        "--no-parity",
        help="Skip loading the output in the exam runtime to compare its predictions.",
    ),
]


@app.command()
def convert(
    source: SourceArgument,
    output: OutputOption = None,
    drop_optimizer: DropOptimizerOption = False,
    reference_python: ReferencePythonOption = None,
    no_parity: NoParityOption = False,
    trust: TrustOption = False,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Write a copy of a Keras 2.10+/3 .h5 model that TensorFlow 2.9 loads with compile=True.

    Then loads the output in the exam runtime and compares its predictions with the original's
    fingerprint; says "parity unchecked" and why when it cannot. Exits 1 (leaving no output)
    when the model cannot be converted faithfully: custom classes, Lambda code from another
    Python, layers Keras 2.9 lacks or whose meaning changed, predictions that differ.
    """
    from tfbridge.convert import ConversionRefused
    from tfbridge.convert import convert as convert_model

    try:
        with ProgressLines(quiet or json_output, verbose) as progress:
            report = convert_model(
                source,
                output,
                drop_optimizer=drop_optimizer,
                check_parity=not no_parity,
                reference_python=reference_python,
                trust=trust,
                progress=lambda message: progress(printable_path(message)),
            )
    except ConversionRefused as refused:
        if json_output:  # the one JSON object; the error line on stderr comes from main
            print_json(_refusal_json(refused))
        raise
    if json_output:
        print_json(report)
    elif quiet:
        _warn_unchecked_parity(report, asked=not no_parity)
    else:
        _render(report, verbose)


def _refusal_json(refused: ConversionRefused) -> dict[str, object]:
    return {
        "source": refused.source,
        "converted": False,
        "reasons": refused.reasons,
        "hint": refused.hint,
        "error": error_object(refused.message, refused.hint, refused.exit_code),
    }


def _warn_unchecked_parity(report: ConversionReport, asked: bool) -> None:
    """-q says nothing on success, but a parity check that was asked for and could not run."""
    if asked and report.parity is not None and report.parity.status == "unchecked":
        info(f"parity unchecked: {printable_path(report.parity.detail)}")


def _render(report: ConversionReport, verbose: bool) -> None:
    keras = report.source_keras_version or "?"
    _line(f"wrote {printable_path(report.output)} (from Keras {keras})")
    if report.parity is not None:
        checked = "checked in TF 2.9" if report.parity.status == "pass" else "unchecked"
        _line(f"  parity {checked}: {printable_path(report.parity.detail)}")
    if report.fingerprint:
        shown = printable_path(report.fingerprint)
        _line(f"  fingerprint: {shown} (the original's predictions, for verify)")
    if not report.changed:
        _line("nothing needed changing: the model was already in Keras 2.9's dialect")
        return
    for change in report.changes:
        _line(f"  changed: {change}")
    for item in report.dropped:
        if item.effect != "none" or verbose:
            _line(f"  dropped: {item.where}: {item.name}={item.value!r} ({_EFFECTS[item.effect]})")
    neutral = sum(1 for item in report.dropped if item.effect == "none")
    if neutral and not verbose:
        _line(f"  dropped {neutral} default-valued argument(s) Keras 2.9 lacks (no effect; see -v)")


_EFFECTS = {"none": "a default: no effect", "training": "affects further training only"}


def _line(text: str) -> None:
    # Never wrapped: a path broken over lines cannot be copied.
    console().print(text, markup=False, soft_wrap=True)
