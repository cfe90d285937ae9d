"""`tfbridge worker status|stop`: the warm exam worker that outlives one command."""

from __future__ import annotations

import typer

from tfbridge.cli.app import app
from tfbridge.cli.output import JsonOption, console, print_json

worker_app = typer.Typer(
    help="Show or stop the warm exam worker (TensorFlow 2.9 kept running between commands).",
    no_args_is_help=True,
)
app.add_typer(worker_app, name="worker")


@worker_app.command()
def status(json_output: JsonOption = False) -> None:
    """The warm workers: their pid, interpreter, start time and socket."""
    from tfbridge.runtime.daemon import idle_seconds, list_workers

    workers = [record for record in list_workers() if record.running]
    if json_output:
        print_json({"workers": workers, "idle_seconds": idle_seconds()})
        return
    if not workers:
        console().print("no warm exam worker is running", markup=False)
        return
    from rich.table import Table

    table = Table("pid", "python", "started", "start took", "socket")
    for record in workers:
        took = "-" if record.start_seconds is None else f"{record.start_seconds:.1f} s"
        table.add_row(str(record.pid), record.python, record.started_at, took, record.socket)
    console().print(table)


@worker_app.command()
def stop(json_output: JsonOption = False) -> None:
    """Stop every warm exam worker (the next command that needs one starts it again)."""
    from tfbridge.runtime.daemon import stop_workers

    stopped = stop_workers()
    if json_output:
        print_json({"stopped": stopped})
        return
    pids = ", ".join(str(record.pid) for record in stopped)
    console().print(f"stopped pid {pids}" if stopped else "no warm exam worker was running")
