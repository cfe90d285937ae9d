"""`tfbridge lock`: resolve profiles into committed, hash-pinned locks."""

from __future__ import annotations

from typing import Annotated

import typer

from tfbridge.cli.app import app
from tfbridge.cli.output import JsonOption, QuietOption, console, info, print_json


@app.command()
def lock(
    profiles: Annotated[
        list[str] | None, typer.Argument(help="Profiles to lock (default: all).")
    ] = None,
    platform: Annotated[
        list[str] | None,
        typer.Option(help="Target platform(s), e.g. linux-64 (default: the profile's platforms)."),
    ] = None,
    backend: Annotated[
        str, typer.Option(help="venv (pylock.toml via uv) or conda (conda-lock).")
    ] = "venv",
    check: Annotated[
        bool, typer.Option("--check", help="Only report whether each lock matches its profile.")
    ] = False,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Write locks for every profile x platform; --check exits 1 when any is missing, stale or
    edited by hand."""
    from tfbridge.errors import EXIT_FAILED, TfbridgeError
    from tfbridge.lock import check_lock, write_venv_lock
    from tfbridge.lock.conda import write_conda_lock
    from tfbridge.profiles import load_profile, profile_names

    if backend not in ("venv", "conda"):
        raise TfbridgeError(f"unknown backend '{backend}'", "use venv or conda")
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
                state = check_lock(profile, target)
                rows.append(
                    {
                        "profile": name,
                        "platform": target,
                        "path": str(state.path),
                        "status": state.status,
                        "problem": state.problem,
                    }
                )
            else:
                info(f"resolving {name} for {target} with uv ...", quiet)
                written = write_venv_lock(profile, target)
                rows.append(
                    {
                        "profile": name,
                        "platform": target,
                        "path": str(written.path),
                        "status": f"written ({len(written.packages)} packages)",
                    }
                )
    if json_output:
        print_json({"locks": rows})
    else:
        for row in rows:
            console().print(
                f"{row['profile']:<8} {row['platform']:<10} {row['status']:<24} {row['path']}",
                markup=False,
                soft_wrap=True,
            )
    if any(row["status"] in ("stale", "edited by hand") for row in rows):
        raise typer.Exit(EXIT_FAILED)
