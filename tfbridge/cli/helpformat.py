"""Help text in click's plain conventions, without the type labels Typer 0.2x adds.

Typer labels each parameter with its Python type (`SLOT <list[str]>`, `--output <path>`) and wraps
required arguments in braces (`{SLOT}`). The metavar and the help text already say what to give,
so arguments show `SLOT`, `[SLOT]...`, and options their metavar or their name (`--backend
BACKEND`). Typer is pinned to the range these hooks were checked against (pyproject.toml).
"""

from __future__ import annotations

from typer._click.core import Context
from typer.core import TyperArgument, TyperOption


def _argument_type_label(self: TyperArgument, ctx: Context) -> None:
    return None


def _argument_usage(self: TyperArgument) -> str:
    name = self.display_name_raw
    shown = name if self.required else f"[{name}]"
    return shown + ("..." if self.nargs != 1 and not name.endswith("...") else "")


def _option_value_label(self: TyperOption, ctx: Context) -> str | None:
    if self.is_flag or self.count:
        return None
    if self.metavar is not None:
        return self.metavar
    return (self.name or "value").upper()


def install() -> None:
    """Apply the plain help format to every command (idempotent)."""
    TyperArgument.display_type_rich = _argument_type_label  # type: ignore[method-assign,assignment]
    TyperArgument._usage_display_name = _argument_usage  # type: ignore[method-assign]
    TyperOption.display_type_rich = _option_value_label  # type: ignore[method-assign]
