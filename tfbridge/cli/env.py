"""`tfbridge env list|path|remove`: the environments tfbridge built."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tfbridge.cli.app import app
from tfbridge.cli.completion import complete_profiles
from tfbridge.cli.output import JsonOption, QuietOption, VerboseOption, console, info, print_json

if TYPE_CHECKING:
    from tfbridge.envs import EnvStatus

ProfileArgument = Annotated[
    str,
    typer.Argument(
        metavar="PROFILE", help="Profile name, e.g. exam.", autocompletion=complete_profiles
    ),
]

env_app = typer.Typer(
    help="List, locate and remove the environments tfbridge built.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(env_app, name="env")


@env_app.command("list")
def list_(
    json_output: JsonOption = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Every profile's environment: where it is, whether it is ready and current."""
    from tfbridge.envs import list_envs  # each command imports the domain when it runs: fast --help

    statuses = list_envs()
    if json_output:
        print_json({"envs": statuses})
        return
    if quiet:  # one `PROFILE STATE` line each, for scripts
        for status in statuses:
            console().print(f"{status.profile} {_state(status)}", markup=False)
        return
    _table(statuses, verbose)


def _state(status: EnvStatus) -> str:
    return "ready" if status.ready and status.current else (status.problem or "?")


def _table(statuses: list[EnvStatus], verbose: bool) -> None:
    from rich.table import Table  # Rich is heavy: only when a table is drawn

    columns = ["profile", "state", "backend", "built", "path"] + (["python"] if verbose else [])
    table = Table(*columns)
    for status in statuses:
        cells = [
            status.profile,
            _state(status),
            status.backend or "-",
            status.built_at or "-",
            str(status.path),
        ]
        table.add_row(*cells, *([str(status.python)] if verbose else []))
    console().print(table)


@env_app.command()
def path(
    profile: ProfileArgument, quiet: QuietOption = False, verbose: VerboseOption = False
) -> None:
    """Print the interpreter of a ready environment (what PyCharm or scripts should use).

    -q prints nothing: the exit code says whether it is ready. -v also names the environment, its
    backend and when it was built (on stderr: stdout stays the one path).
    """
    from tfbridge.envs import env_status, load_profile, ready_python

    load_profile(profile)
    python = ready_python(profile)
    if not quiet:
        typer.echo(str(python))
    if verbose:
        built = env_status(profile)
        info(f"{profile}: {built.path} ({built.backend} backend, built {built.built_at})")


@env_app.command()
def remove(
    profile: ProfileArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Delete a profile's environment (rebuild it with `tfbridge setup`)."""
    from tfbridge.envs import env_dir, remove_env

    if verbose:
        console().print(f"{profile}: {env_dir(profile)}", markup=False)
    if not yes and not typer.confirm(f"Delete {env_dir(profile)}?"):
        raise typer.Exit(1)
    removed = remove_env(profile)
    if not quiet:
        console().print(f"removed {removed}", markup=False)
