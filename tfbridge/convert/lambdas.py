"""Lambda layers: their bytecode runs only under the Python that wrote it. Keep or refuse."""

from __future__ import annotations

from typing import Any

from tfbridge.convert.report import RETRAIN_HINT, Notes
from tfbridge.keras29.lambda_code import inspect_lambda
from tfbridge.keras29.lambdas import bytecode_problem
from tfbridge.keras29.rules import load_rules

LAMBDA_HINT = RETRAIN_HINT + " (or replace the Lambda with built-in layers)"


def check_lambda(config: dict[str, Any], where: str, notes: Notes) -> None:
    """Refuse a Lambda whose code the exam's Python 3.8 cannot run; note one that it can."""
    function = config.get("function")
    if isinstance(function, dict):
        # Keras 3 format; Keras 3 needs Python >= 3.9, so this bytecode never came from 3.8.
        notes.refuse(
            f"{where} holds bytecode written by Keras 3 on Python 3.9 or newer", LAMBDA_HINT
        )
        return
    if config.get("function_type", "lambda") != "lambda":
        notes.refuse(f"{where} calls a named Python function that is not in the file", LAMBDA_HINT)
        return
    code = inspect_lambda(function)
    if code.layout == "unknown":
        # Verify only warns here (the runtime check decides); convert cannot prove it and refuses.
        notes.refuse(f"{where} holds bytecode written by {code.writer}", LAMBDA_HINT)
        return
    problem = bytecode_problem(code, load_rules().knowledge.python_opcodes)
    if problem:
        notes.refuse(f"{where}: {problem}", LAMBDA_HINT)
        return
    notes.change(
        f"{where} kept as is: its bytecode reads as Python 3.8's; "
        "loading it runs that code (convert or verify with --trust load it to check parity)"
    )
