"""A command group whose first word may be a sub-command or the default command's first argument."""

from __future__ import annotations

from typing import ClassVar

from typer._click.core import Context  # Typer 0.29 vendors click: its own Context type
from typer._click.formatting import HelpFormatter
from typer.core import TyperGroup


class DefaultCommandGroup(TyperGroup):
    """`tfbridge sync q1 q2` runs `sync send q1 q2`; `tfbridge sync status` runs `status`.

    A word that names a sub-command is that sub-command; anything else (a slot, an option, `--`)
    goes to the default command, so `tfbridge sync -- status` sends a slot named `status`.
    """

    default_command: ClassVar[str] = ""
    default_usage: ClassVar[str] = ""  # the usage words of the default command's form
    # Old spellings kept as aliases: an option word that stands for a sub-command.
    option_aliases: ClassVar[tuple[tuple[str, str], ...]] = ()

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, self._with_command(ctx, args))

    def _with_command(self, ctx: Context, args: list[str]) -> list[str]:
        if args and (args[0] in self.commands or args[0] in ctx.help_option_names):
            return args
        options = args[: args.index("--")] if "--" in args else args
        for option, command in self.option_aliases:
            if option in options:
                rest = list(args)
                rest.remove(option)
                return [command, *rest]
        return [self.default_command, *args]

    def format_usage(self, ctx: Context, formatter: HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, f"{self.default_usage} | COMMAND [ARGS]...")
