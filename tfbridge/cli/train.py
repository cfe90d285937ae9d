"""`tfbridge train`: run a training script in its profile's env; check and record what it saved."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tfbridge.cli.app import app
from tfbridge.cli.completion import complete_profiles
from tfbridge.cli.groups import DefaultCommandGroup
from tfbridge.cli.output import JsonOption, QuietOption, VerboseOption, console, info, print_json
from tfbridge.cli.progress import PhaseProgress
from tfbridge.errors import EXIT_FAILED

if TYPE_CHECKING:
    from tfbridge.train.preflight import Preflight
    from tfbridge.train.runs import RunRecord
    from tfbridge.train.session import TrainResult

_MARKS = {"pass": "ok", "warn": "warning", "fail": "FAILED", "skip": "skipped"}


class _TrainGroup(DefaultCommandGroup):
    default_command = "run"
    default_usage = "SCRIPT [OPTIONS] [-- SCRIPT ARGS]"
    option_aliases = (("--list", "list"),)  # the old spelling, kept working


train_app = typer.Typer(
    cls=_TrainGroup,
    no_args_is_help=True,
    rich_markup_mode=None,
    help=(
        "Run a training script with a profile's interpreter (metal on Apple Silicon, else exam), "
        "streaming its output; then fingerprint and verify every .h5 it wrote, and record the "
        "run in .tfbridge/runs.jsonl. Scripts can `import tfbridge_keras` (ExamCheckpoint, "
        "exam_optimizer) without installing tfbridge in that env.\n\n"
        "\b\n"
        "tfbridge train SCRIPT [OPTIONS] [-- SCRIPT ARGS]   same as `train run`\n"
        "tfbridge train list                               the recorded runs (also `--list`)"
    ),
)
app.add_typer(train_app, name="train")


@train_app.command("list", help="Show the runs recorded in .tfbridge/runs.jsonl.")
def list_command(
    json_output: JsonOption = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    _list(json_output)


@train_app.command("run", help="Run a training script, then check what it saved (the default).")
def train_command(
    script: Annotated[
        Path,
        typer.Argument(metavar="SCRIPT", help="The training script (.py).", show_default=False),
    ],
    script_args: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="-- SCRIPT_ARG",
            help="Arguments for the script, after --.",
            show_default=False,
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            metavar="PROFILE",
            help="Training profile (default: metal on Apple Silicon, else exam).",
            autocompletion=complete_profiles,
        ),
    ] = None,
    allow_cpu: Annotated[
        bool,
        typer.Option("--allow-cpu", help="Train on the CPU when the profile's GPU is missing."),
    ] = False,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir",
            metavar="DIR",
            help="Where the script saves models (default: the current directory).",
            show_default=False,
        ),
    ] = None,
    sync: Annotated[
        bool, typer.Option("--sync", help="Send the verified models to their slots afterwards.")
    ] = False,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    from tfbridge.train.session import TrainRequest, train

    request = TrainRequest(script, tuple(script_args or ()), profile, allow_cpu, output_dir, sync)
    silent = quiet or json_output
    with PhaseProgress(silent, verbose) as progress:
        result = train(
            request,
            script_stdout=sys.stderr if json_output else None,
            progress=progress,
            on_preflight=lambda preflight: _render_preflight(preflight, silent),
        )
    if json_output:
        print_json(_as_json(result))
    else:
        _render(result)
    if not result.ok:
        raise typer.Exit(EXIT_FAILED)


def _list(json_output: bool) -> None:
    from tfbridge.train.runs import read_runs

    runs = read_runs()
    if json_output:
        print_json({"runs": runs})
    else:
        _render_runs(runs)


def _as_json(result: TrainResult) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "preflight": result.preflight,
        "run": result.record,
        "models": result.reports,
        "sync": result.sync,
        "sync_problem": result.sync_problem,
    }


def _render(result: TrainResult) -> None:
    record = result.record
    if record is None:
        info("preflight failed: the script did not run")
        return
    _render_models(result)
    console().print(
        f"{Path(record.script).name} {record.describe_exit()} after "
        f"{record.duration_seconds:.1f} s "
        f"on {record.device} (profile {record.profile}); run recorded",
        markup=False,
    )
    if result.sync is not None:
        from tfbridge.cli.sync import render_sync

        render_sync(result.sync)
    if result.sync_problem:
        info(f"--sync sent nothing: {result.sync_problem}")


def _render_preflight(preflight: Preflight, quiet: bool) -> None:
    """On stderr, before the script's own output; problems show even with --quiet or --json."""
    for check in preflight.checks:
        if quiet and check.status == "pass":
            continue
        hint = f" ({check.hint})" if check.hint and check.status != "pass" else ""
        info(f"preflight {_MARKS[check.status]}: {check.message}{hint}")


def _render_models(result: TrainResult) -> None:
    from rich.table import Table

    assert result.record is not None
    if not result.record.models and not result.record.skipped:
        info("the run wrote or changed no .h5 file")
        return
    table = Table("model", "verdict", "fingerprint", "first problem")
    for entry in result.record.skipped:
        table.add_row(entry.path, "not read", "none", f"not a model file: {entry.reason}")
    for outcome, report in zip(result.record.models, result.reports, strict=True):
        problems = [c for c in report.checks if c.status in ("fail", "warn")]
        first = outcome.problem
        if problems:
            more = f" (+{len(problems) - 1} more: `tfbridge verify`)" if len(problems) > 1 else ""
            first = f"{problems[0].id}: {problems[0].message}{more}"
        fingerprint = "written" if outcome.fingerprint else "none"
        table.add_row(outcome.path, outcome.verdict, fingerprint, first)
    console().print(table)


def _render_runs(runs: list[RunRecord]) -> None:
    from rich.table import Table

    if not runs:
        info("no training runs recorded in this project yet")
        return
    table = Table("started", "script", "profile", "device", "seconds", "exit", "models")
    for run in runs:
        models = ", ".join(f"{Path(m.path).name}: {m.verdict}" for m in run.models) or "-"
        table.add_row(
            run.started_at[:16].replace("T", " "),
            Path(run.script).name,
            run.profile,
            run.device,
            f"{run.duration_seconds:.1f}",
            str(run.exit_code),
            models,
        )
    console().print(table)
