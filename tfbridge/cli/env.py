"""`tfbridge env list|path|remove`: the environments tfbridge built."""

from __future__ import annotations

from typing import Annotated

import typer

from tfbridge.cli.app import app
from tfbridge.cli.output import JsonOption, console, print_json

env_app = typer.Typer(
    help="List, locate and remove the environments tfbridge built.", no_args_is_help=True
)
app.add_typer(env_app, name="env")


@env_app.command("list")
def list_(json_output: JsonOption = False) -> None:
    """Every profile's environment: where it is, whether it is ready and current."""
    from tfbridge.envs import list_envs

    statuses = list_envs()
    if json_output:
        print_json({"envs": statuses})
        return
    from rich.table import Table

    table = Table("profile", "state", "backend", "built", "path")
    for status in statuses:
        state = "ready" if status.ready and status.current else (status.problem or "?")
        table.add_row(
            status.profile, state, status.backend or "-", status.built_at or "-", str(status.path)
        )
    console().print(table)


@env_app.command()
def path(profile: Annotated[str, typer.Argument(help="Profile name, e.g. exam.")]) -> None:
    """Print the interpreter of a ready environment (what PyCharm or scripts should use)."""
    from tfbridge.envs import ready_python
    from tfbridge.profiles import load_profile

    load_profile(profile)
    typer.echo(str(ready_python(profile)))


@env_app.command()
def remove(
    profile: Annotated[str, typer.Argument(help="Profile whose environment to delete.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Delete a profile's environment (rebuild it with `tfbridge setup`)."""
    from tfbridge.envs import env_dir, remove_env

    if not yes and not typer.confirm(f"Delete {env_dir(profile)}?"):
        raise typer.Exit(1)
    console().print(f"removed {remove_env(profile)}", markup=False)
