"""Lambda bytecode: which Python wrote it, from real interpreters' marshal output."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tfbridge.keras29.knowledge import load_knowledge
from tfbridge.keras29.lambda_code import inspect_lambda

PYENV = Path.home() / ".pyenv" / "versions"
DUMP = (
    "import base64, marshal; f = lambda x: [y for y in x if y is not None]; "
    "print(base64.b64encode(marshal.dumps(f.__code__)).decode())"
)


def _dump(version: str) -> str:
    python = PYENV / version / "bin" / "python"
    assert python.exists(), f"this machine kind has pyenv's Python {version} at {python}"
    return subprocess.run(
        [str(python), "-c", DUMP], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_python38_bytecode_is_recognised_as_loadable() -> None:
    code = inspect_lambda(_dump("3.8.18"))
    assert code.layout == "py38-310"
    assert code.opcodes <= load_knowledge().python_opcodes


def test_python310_bytecode_shows_opcodes_python38_lacks() -> None:
    code = inspect_lambda(_dump("3.10.13"))
    assert code.layout == "py38-310"
    assert code.opcodes - load_knowledge().python_opcodes  # IS_OP came in 3.9


@pytest.mark.parametrize("version", ["3.11.7", "3.12.1", "3.13.0"])
def test_python311_and_newer_bytecode_is_told_apart(version: str) -> None:
    assert inspect_lambda(_dump(version)).layout == "py311+"


def test_garbage_is_unknown_not_an_error() -> None:
    assert inspect_lambda("bm90IGJ5dGVjb2Rl").layout == "unknown"
    assert inspect_lambda(None).layout == "unknown"
