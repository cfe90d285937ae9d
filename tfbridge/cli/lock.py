"""`tfbridge lock`: resolve profiles into committed, hash-pinned locks and their platform facts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tfbridge.cli.app import app
from tfbridge.cli.completion import complete_profiles
from tfbridge.cli.output import JsonOption, QuietOption, VerboseOption, console, print_json
from tfbridge.cli.progress import ProgressLines
from tfbridge.errors import EXIT_FAILED

if TYPE_CHECKING:
    from tfbridge.envs.lock.committed import LockRow


@app.command()
def lock(
    profiles: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="PROFILE",
            help="Profiles to lock (default: all).",
            autocompletion=complete_profiles,
        ),
    ] = None,
    platform: Annotated[
        list[str] | None,
        typer.Option(
            metavar="PLATFORM",
            help="Target platform (repeatable), e.g. linux-64 (default: the profile's platforms).",
        ),
    ] = None,
    backend: Annotated[
        str, typer.Option(help="venv (pylock.toml via uv) or conda (conda-lock).")
    ] = "venv",
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Only report whether each lock matches its profile, its platform facts match "
            "the lock, and it keeps the exam's Python and Keras.",
        ),
    ] = False,
    facts_only: Annotated[
        bool,
        typer.Option(
            "--facts-only",
            help="Keep the locks; only regenerate their platform facts (what the binaries need).",
        ),
    ] = False,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Write locks and platform facts for every profile x platform.

    --check exits 1 when any lock or its facts is missing or stale.
    """
    from tfbridge.envs.lock.committed import lock_profiles  # off `tfbridge --help`'s path

    rows = lock_profiles(
        profiles or [],
        platforms=platform or [],
        backend=backend,
        check=check,
        facts_only=facts_only,
        say=ProgressLines(quiet or json_output, verbose),
    )
    if json_output:
        print_json({"locks": rows})
    else:
        _render(rows)
    if any(row.stale for row in rows):
        raise typer.Exit(EXIT_FAILED)


def _render(rows: list[LockRow]) -> None:
    for row in rows:
        line = f"{row.profile:<8} {row.platform:<10} {row.status:<24} {row.path}"
        if row.problem:
            line += f" ({row.problem})"
        console().print(line, markup=False, soft_wrap=True)
