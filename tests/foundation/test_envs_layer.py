"""The environment package sits below the domains that use it: nothing in `tfbridge/envs/` imports
runtime, verify, sync, train, convert or the CLI, at module level or inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import tfbridge.envs

ENVS_DIR = Path(tfbridge.envs.__file__).parent
ABOVE_ENVS = ("runtime", "verify", "sync", "train", "convert", "cli", "keras29", "doctor")


def _imported_modules(source: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def _tfbridge_package(module: str) -> str | None:
    """ "runtime" for "tfbridge.runtime.client"; None outside tfbridge."""
    parts = module.split(".")
    return parts[1] if parts[0] == "tfbridge" and len(parts) > 1 else None


def test_envs_imports_nothing_above_it() -> None:
    sources = sorted(ENVS_DIR.rglob("*.py"))
    assert len(sources) > 15  # the whole package is read, lock/ included
    upward = {
        f"{source.relative_to(ENVS_DIR)}: {module}"
        for source in sources
        for module in _imported_modules(source)
        if _tfbridge_package(module) in ABOVE_ENVS
    }
    assert upward == set()
