"""`tfbridge worker status|stop`: the warm exam worker that outlives one command."""

from __future__ import annotations

import typer

from tfbridge.cli.app import app
from tfbridge.cli.output import JsonOption, QuietOption, VerboseOption, console, print_json

worker_app = typer.Typer(
    help="Show or stop the warm exam worker (TensorFlow 2.9 kept running between commands).",
    no_args_is_help=True,
)
app.add_typer(worker_app, name="worker")


@worker_app.command()
def status(
    json_output: JsonOption = False, quiet: QuietOption = False, verbose: VerboseOption = False
) -> None:
    """The warm workers: their pid, interpreter, start time and socket (-q: their pids only)."""
    from tfbridge.runtime.daemon import IDLE_ENV_VAR, idle_seconds, list_workers

    workers = [record for record in list_workers() if record.running]
    if json_output:
        print_json({"workers": workers, "idle_seconds": idle_seconds()})
        return
    if quiet:
        for record in workers:
            console().print(str(record.pid), markup=False)
        return
    if verbose:
        idle = f"a worker exits after {idle_seconds():.0f} idle seconds ({IDLE_ENV_VAR})"
        console().print(idle, markup=False)
    if not workers:
        console().print("no warm exam worker is running", markup=False)
        return
    from rich.table import Table

    table = Table("pid", "python", "started", "start took", "socket", *(["log"] if verbose else []))
    for record in workers:
        took = "-" if record.start_seconds is None else f"{record.start_seconds:.1f} s"
        cells = [str(record.pid), record.python, record.started_at, took, record.socket]
        table.add_row(*cells, *([record.log] if verbose else []))
    console().print(table)


@worker_app.command()
def stop(
    json_output: JsonOption = False, quiet: QuietOption = False, verbose: VerboseOption = False
) -> None:
    """Stop every warm exam worker (the next command that needs one starts it again)."""
    from tfbridge.runtime.daemon import stop_workers, workers_dir

    stopped = stop_workers()
    if json_output:
        print_json({"stopped": stopped})
        return
    if quiet:
        return
    if not stopped:
        where = f" (none recorded in {workers_dir()})" if verbose else ""
        console().print(f"no warm exam worker was running{where}", markup=False)
    elif verbose:
        for record in stopped:
            started = f"stopped pid {record.pid} ({record.python}, started {record.started_at})"
            console().print(started, markup=False)
    else:
        console().print(f"stopped pid {', '.join(str(record.pid) for record in stopped)}")
