"""`tfbridge verify`: will the exam's TF 2.9 load these models, meet the contract, predict alike?"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tfbridge.cli.app import app
from tfbridge.cli.completion import complete_slots
from tfbridge.cli.output import JsonOption, QuietOption, VerboseOption, console, print_json
from tfbridge.cli.progress import ProgressLines
from tfbridge.model_files import printable_path

if TYPE_CHECKING:
    from tfbridge.verify import ModelReport, VerifyReport

PathsArgument = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Model .h5 files or directories (every .h5 inside).",
        metavar="PATH",
        show_default=False,
        # Each path's problems are that model's own, reported per model, not click's.
        readable=False,
    ),
]
RuntimeOption = Annotated[
    bool | None,
    typer.Option(
        "--runtime/--no-runtime",
        show_default=False,
        help="Also load each model in the exam runtime (default: when it is set up).",
    ),
]
TrustOption = Annotated[
    bool, typer.Option("--trust", help="Load models with Lambda layers or unknown classes too.")
]
ReferenceOption = Annotated[
    Path | None,
    typer.Option(
        "--reference",
        metavar="PYTHON",
        show_default=False,
        help="Interpreter of the training environment, to compare predictions with.",
    ),
]
InputShapeOption = Annotated[
    str | None,
    typer.Option("--input-shape", help="Expected input shape, e.g. 28,28,1.", show_default=False),
]
OutputShapeOption = Annotated[
    str | None,
    typer.Option("--output-shape", help="Expected output shape, e.g. 10.", show_default=False),
]
ActivationOption = Annotated[
    str | None,
    typer.Option(
        "--output-activation", help="Expected last activation, e.g. softmax.", show_default=False
    ),
]
DaemonOption = Annotated[
    bool,
    typer.Option(
        "--daemon/--no-daemon",
        help="Use the warm exam worker kept between commands (TFBRIDGE_NO_DAEMON=1 turns it off).",
    ),
]
CacheOption = Annotated[
    bool,
    typer.Option(
        "--cache/--no-cache", help="Reuse a known runtime verdict for the same model and contract."
    ),
]
SlotOption = Annotated[
    str | None,
    typer.Option(
        "--slot",
        metavar="SLOT",
        help="Take the contract (and model) of this project slot.",
        show_default=False,
        autocompletion=complete_slots,
    ),
]
STATUS_STYLE = {"pass": "green", "warn": "yellow", "fail": "red", "skip": "dim"}


@app.command()
def verify(
    paths: PathsArgument = None,
    runtime: RuntimeOption = None,
    trust: TrustOption = False,
    reference: ReferenceOption = None,
    input_shape: InputShapeOption = None,
    output_shape: OutputShapeOption = None,
    output_activation: ActivationOption = None,
    slot: SlotOption = None,
    daemon: DaemonOption = True,
    cache: CacheOption = True,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Check that the exam's TF 2.9 loads each model as the grader does, and why not.

    Exits 0 when no model fails, 1 when any fails, 2 on usage errors or when no path is readable.
    """
    from tfbridge.contract import Contract, parse_shape
    from tfbridge.errors import EXIT_FAILED, EnvironmentFailure
    from tfbridge.verify import verify_request

    wanted = Contract(
        input_shape=None if input_shape is None else parse_shape(input_shape, "--input-shape"),
        output_shape=None if output_shape is None else parse_shape(output_shape, "--output-shape"),
        output_activation=output_activation,
    )
    with ProgressLines(quiet or json_output, verbose) as progress:
        report = verify_request(
            paths or [],
            slot=slot,
            contract=wanted,
            runtime=runtime,
            trust=trust,
            reference_python=reference,
            progress=progress,
            daemon=daemon,
            cache=cache,
        )
    if json_output:
        print_json(report)
    else:
        _render(report, quiet)
    if report.worker_failures:
        raise EnvironmentFailure(report.worker_failures[0])
    if report.failed:
        raise typer.Exit(EXIT_FAILED)


def _render(report: VerifyReport, quiet: bool) -> None:
    out = console()
    for model in report.models:
        if not quiet:
            out.print(_table(model))
        else:
            shown = printable_path(model.path)
            out.print(f"{model.verdict.upper():5} {shown}{_static_only(model)}", markup=False)
    counts = {v: sum(1 for m in report.models if m.verdict == v) for v in ("pass", "warn", "fail")}
    out.print(
        f"{len(report.models)} model(s): {counts['pass']} pass, {counts['warn']} warn, "
        f"{counts['fail']} fail",
        markup=False,
    )


def _table(model: ModelReport) -> object:
    from rich.table import Table

    writer = f" (saved by Keras {model.keras_version})" if model.keras_version else ""
    table = Table(
        title=_plain(f"{model.path}: {model.verdict.upper()}{_static_only(model)}{writer}"),
        title_justify="left",
        show_lines=False,
        expand=False,
    )
    for column in ("check", "status", "message", "fix"):
        table.add_column(column, overflow="fold")
    for check in model.checks:
        style = STATUS_STYLE.get(check.status, "")
        table.add_row(
            check.id,
            f"[{style}]{check.status}[/{style}]",
            _plain(check.message),
            _plain(check.hint),
        )
    return table


def _static_only(model: ModelReport) -> str:
    """Beside the verdict, when it rests on the static check alone, and why."""
    return "" if model.runtime_skipped is None else f" (static only: {model.runtime_skipped})"


def _plain(text: str) -> str:
    from rich.markup import escape

    return escape(printable_path(text))
