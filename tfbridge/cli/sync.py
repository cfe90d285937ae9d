"""`tfbridge sync`: put each slot's model on the grading machine; `status`, `rollback`, `init`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tfbridge.cli.app import app
from tfbridge.cli.completion import complete_slots
from tfbridge.cli.groups import DefaultCommandGroup
from tfbridge.cli.output import (
    JsonOption,
    QuietOption,
    VerboseOption,
    console,
    info,
    print_json,
)
from tfbridge.cli.progress import PhaseProgress
from tfbridge.errors import EXIT_FAILED

if TYPE_CHECKING:
    from tfbridge.sync.result import SlotSync, StatusReport, SyncReport


class _SyncGroup(DefaultCommandGroup):
    default_command = "send"
    default_usage = "[SLOT]... [OPTIONS]"
    option_aliases = (("--init", "init"),)


sync_app = typer.Typer(
    cls=_SyncGroup,
    no_args_is_help=False,
    rich_markup_mode=None,
    help=(
        "Put each slot's model into its exam directory on the grading machine (over SSH or into "
        "a local directory): verified first, replaced atomically, sent only when it changed.\n\n"
        "\b\n"
        "tfbridge sync [SLOT...]          send the named slots (default: all), as `sync send`\n"
        "tfbridge sync status [SLOT...]   compare the ledger, local models and the far side\n"
        "tfbridge sync rollback SLOT      restore the slot's previous model\n"
        "tfbridge sync init               write a commented tfbridge.toml here (also `--init`)\n"
        "tfbridge sync -- status          send a slot that is named like a command\n"
        "                                 (or `tfbridge sync send status`)"
    ),
)
app.add_typer(sync_app, name="sync")

SlotsArgument = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="SLOT",
        help="Slot names from tfbridge.toml (default: all).",
        show_default=False,
        autocompletion=complete_slots,
    ),
]
WaitOption = Annotated[
    float,
    typer.Option(
        "--wait",
        metavar="SECONDS",
        min=0,
        help="How long to wait for another sync or rollback to the same target to finish.",
    ),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Show what would change; send and change nothing.")
]


@sync_app.command("send", help="Verify each slot's model and send it (the default command).")
def send_command(
    slots: SlotsArgument = None,
    dry_run: DryRunOption = False,
    force: Annotated[
        bool, typer.Option("--force", help="Send even a model that fails verification.")
    ] = False,
    remote_verify: Annotated[
        bool,
        typer.Option(
            "--remote-verify",
            help="Also load each model with the grading machine's exam interpreter "
            "(target.python).",
        ),
    ] = False,
    wait: WaitOption = 60.0,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    progress = PhaseProgress(quiet=quiet or json_output, verbose=verbose)
    _sync(list(slots or []), dry_run, force, remote_verify, wait, json_output, progress)


@sync_app.command("status", help="Compare the ledger, the local models and the far side.")
def status_command(
    slots: SlotsArgument = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    _status(list(slots or []), json_output, verbose)


@sync_app.command("rollback", help="Put the slot's previous model back (from .tfbridge-history).")
def rollback_command(
    slot: Annotated[
        str,
        typer.Argument(
            metavar="SLOT", help="The slot to roll back.", autocompletion=complete_slots
        ),
    ],
    dry_run: DryRunOption = False,
    wait: WaitOption = 60.0,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    progress = PhaseProgress(quiet=quiet, verbose=verbose)
    _rollback(slot, dry_run, wait, json_output, quiet, progress)


@sync_app.command("init", help="Write a commented example tfbridge.toml in this directory.")
def init_command(
    json_output: JsonOption = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    _init(json_output, quiet, verbose)


def _init(json_output: bool, quiet: bool, verbose: bool) -> None:
    from tfbridge.config import write_example_config

    path = write_example_config(Path.cwd())
    if json_output:
        print_json({"written": path})
    else:
        info(f"wrote {path}; edit [target] and [slots.*], then run `tfbridge sync`", quiet)
        if verbose:  # what was written, to read without opening the file
            typer.echo(path.read_text(encoding="utf-8"), nl=False)


def _sync(
    names: list[str],
    dry_run: bool,
    force: bool,
    remote_verify: bool,
    wait: float,
    json_output: bool,
    progress: PhaseProgress,
) -> None:
    from tfbridge.config import load_config
    from tfbridge.sync import sync

    config = load_config()
    with progress:
        report = sync(
            config,
            names,
            dry_run=dry_run,
            force=force,
            remote_verify=remote_verify,
            wait=wait,
            progress=progress,
        )
    if json_output:
        print_json(report)
    else:
        render_sync(report)
    if report.failed:
        raise typer.Exit(EXIT_FAILED)


def _status(names: list[str], json_output: bool, verbose: bool) -> None:
    from tfbridge.config import load_config
    from tfbridge.sync import status

    report = status(load_config(), names)
    if json_output:
        print_json(report)
    else:
        _render_status(report, verbose)
    if report.failed:
        raise typer.Exit(EXIT_FAILED)


def _rollback(
    name: str,
    dry_run: bool,
    wait: float,
    json_output: bool,
    quiet: bool,
    progress: PhaseProgress,
) -> None:
    from tfbridge.config import load_config
    from tfbridge.sync import rollback

    result = rollback(load_config(), name, dry_run=dry_run, wait=wait, progress=progress)
    if json_output:
        print_json(result)
    elif not quiet:
        verb = "would restore" if dry_run else "restored"
        console().print(
            f"{result.slot}: {verb} {result.remote_path} from {result.restored}", markup=False
        )


def render_sync(report: SyncReport) -> None:
    """Plain aligned columns on stdout: a no-op re-sync should not wait for Rich to load."""
    title = f"sync to {report.target}" + (" (dry run)" if report.dry_run else "")
    rows = [("slot", "action", "verify", "far side", "file")]
    for slot in report.slots:
        remote = f"{slot.remote.verdict}: {slot.remote.message}" if slot.remote else ""
        rows.append((slot.slot, slot.action, slot.verdict, remote, slot.remote_path))
    lines = [title, *_aligned(rows)]
    for slot in report.slots:
        lines += [f"{slot.slot}: {problem}" for problem in slot.problems]
        if slot.action == "refused":
            lines.append(f"{slot.slot}: not sent; {_refusal_advice(slot)}")
    typer.echo("\n".join(lines))
    if report.cleaned_temps:
        info(f"removed {report.cleaned_temps} leftover upload(s) from an interrupted run")


def _aligned(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _refusal_advice(slot: SlotSync) -> str:
    if any(problem.startswith("model.file:") for problem in slot.problems):
        return "save a Keras .h5 model there (--force cannot send this file)"
    return "fix the model or pass --force"


def _render_status(report: StatusReport, verbose: bool) -> None:
    digits = 64 if verbose else 8  # -v: whole SHA-256s, to compare with `sha256sum` by hand
    from rich.table import Table

    table = Table(title=f"slots on {report.target}")
    for column in ("slot", "state", "local", "far side", "last sent"):
        table.add_column(column, no_wrap=True)
    for slot in report.slots:
        far = " ".join(slot.remote_models) or "-"
        if slot.remote_sha256:
            far += f" {slot.remote_sha256[:digits]}"
        sent = (slot.ledger_time or "-")[:16].replace("T", " ")
        table.add_row(slot.slot, slot.state, (slot.local_sha256 or "-")[:digits], far, sent)
    console().print(table)
    for slot in report.slots:
        if slot.state != "in-sync":
            console().print(f"{slot.slot}: {slot.message}", markup=False)
