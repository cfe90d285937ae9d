"""`tfbridge lock`: resolve profiles into committed, hash-pinned locks and their platform facts."""

from __future__ import annotations

from typing import Annotated

import typer

from tfbridge.cli.app import app
from tfbridge.cli.completion import complete_profiles
from tfbridge.cli.output import JsonOption, QuietOption, VerboseOption, console, print_json
from tfbridge.cli.progress import ProgressLines


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
    from tfbridge.envs.lock.committed import check_committed, write_committed
    from tfbridge.envs.lock.conda import write_conda_lock
    from tfbridge.envs.profiles import load_profile, profile_names
    from tfbridge.errors import EXIT_FAILED, TfbridgeError

    if backend not in ("venv", "conda"):
        raise TfbridgeError(f"unknown backend '{backend}'", "use venv or conda")
    say = ProgressLines(quiet or json_output, verbose)
    rows: list[dict[str, object]] = []
    for name in profiles or profile_names():
        profile = load_profile(name)
        if backend == "conda":
            path = write_conda_lock(profile, platform or ())
            rows.append(
                {
                    "profile": name,
                    "platform": ",".join(platform or profile.platforms),
                    "path": str(path),
                    "status": "written",
                }
            )
            continue
        for target in platform or profile.platforms:
            if check:
                row = check_committed(profile, target)
            else:
                row = write_committed(profile, target, facts_only=facts_only, say=say)
            rows.append(
                {
                    "profile": row.profile,
                    "platform": row.platform,
                    "path": str(row.path),
                    "status": row.status,
                    "problem": row.problem,
                }
            )
    if json_output:
        print_json({"locks": rows})
    else:
        _render(rows)
    if any(row["status"] == "stale" for row in rows):
        raise typer.Exit(EXIT_FAILED)


def _render(rows: list[dict[str, object]]) -> None:
    for row in rows:
        line = f"{row['profile']:<8} {row['platform']:<10} {row['status']:<24} {row['path']}"
        if row.get("problem"):
            line += f" ({row['problem']})"
        console().print(line, markup=False, soft_wrap=True)
