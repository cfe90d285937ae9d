"""`tfbridge doctor`: report what is ready and what is broken, with the fix."""

from __future__ import annotations

from typing import Annotated

import typer

from tfbridge.cli.app import app
from tfbridge.cli.output import JsonOption, console, print_json


@app.command()
def doctor(
    devices: Annotated[
        bool, typer.Option(help="Ask TensorFlow in each ready env which devices it sees.")
    ] = True,
    json_output: JsonOption = False,
) -> None:
    """Check hardware, locks, environments, pins, the tensorflow-metal pairing and GPUs.

    Exits 1 when something you rely on is broken.
    """
    from tfbridge.doctor import diagnose
    from tfbridge.errors import EXIT_FAILED

    report = diagnose(check_devices=devices)
    if json_output:
        print_json(
            {
                "default_profile": report.default_profile,
                "hardware": report.hardware,
                "broken": report.broken,
                "findings": report.findings,
            }
        )
    else:
        _render(report)
    if report.broken:
        raise typer.Exit(EXIT_FAILED)


def _render(report: object) -> None:
    from rich.table import Table

    from tfbridge.doctor import DoctorReport

    assert isinstance(report, DoctorReport)
    table = Table("check", "status", "detail", "fix")
    for finding in report.findings:
        table.add_row(finding.subject, finding.level, finding.message, finding.hint)
    console().print(table)
    verdict = "something is broken" if report.broken else "all good"
    console().print(f"default profile on this machine: {report.default_profile}; {verdict}")
