"""`tfbridge doctor`: report what is ready and what is broken, with the fix."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tfbridge.cli.app import app
from tfbridge.cli.output import JsonOption, QuietOption, VerboseOption, console, print_json
from tfbridge.errors import EXIT_FAILED

if TYPE_CHECKING:
    from tfbridge.doctor import DoctorReport
    from tfbridge.envs import Hardware


@app.command()
def doctor(
    devices: Annotated[
        bool, typer.Option(help="Ask TensorFlow in each ready env which devices it sees.")
    ] = True,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Check hardware, locks, environments, pins, the tensorflow-metal pairing and GPUs.

    Exits 1 when something you rely on is broken.
    """
    from tfbridge.doctor import diagnose  # off `tfbridge --help`'s path

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
        _render(report, quiet, verbose)
    if report.broken:
        raise typer.Exit(EXIT_FAILED)


def _render(report: DoctorReport, quiet: bool, verbose: bool) -> None:
    from rich.table import Table  # Rich is heavy: only when a table is drawn

    if verbose:
        console().print(_hardware_line(report.hardware), markup=False)
    table = Table("check", "status", "detail", "fix")
    for finding in report.findings:
        if not quiet or finding.level in ("warn", "fail"):
            table.add_row(finding.subject, finding.level, finding.message, finding.hint)
    if table.row_count:
        console().print(table)
    verdict = "something is broken" if report.broken else "all good"
    console().print(f"default profile on this machine: {report.default_profile}; {verdict}")


def _hardware_line(hardware: Hardware) -> str:
    facts = [
        f"{hardware.system} {hardware.machine}",
        f"conda platform {hardware.conda_platform}",
        hardware.os_description,
        f"AVX {'unknown' if hardware.has_avx is None else 'yes' if hardware.has_avx else 'no'}",
    ]
    if hardware.is_rosetta:
        facts.append("under Rosetta 2")
    return "this machine: " + "; ".join(facts)
