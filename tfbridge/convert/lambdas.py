"""Lambda layers: their bytecode runs only under the Python that wrote it. Keep or refuse."""

from __future__ import annotations

from typing import Any

from tfbridge.convert.report import RETRAIN_HINT, Notes
from tfbridge.keras29.lambda_code import LambdaCode, inspect_lambda
from tfbridge.keras29.lambdas import bytecode_doubt, bytecode_problem
from tfbridge.keras29.rules import load_rules

LAMBDA_HINT = RETRAIN_HINT + " (or replace the Lambda with built-in layers)"


def check_lambda(config: dict[str, Any], where: str, notes: Notes) -> dict[str, Any]:
    """The Lambda config Keras 2.9 loads (Keras 3's function written in 2.9's form), after
    refusing code the exam's Python 3.8 cannot run; notes one that it can."""
    function = config.get("function")
    if isinstance(function, dict):
        return _keras3_lambda(config, function, where, notes)
    if config.get("function_type", "lambda") != "lambda":
        notes.refuse(f"{where} calls a named Python function that is not in the file", LAMBDA_HINT)
        return config
    code = _runs_in_python38(function, where, notes)
    doubt = "" if code is None else bytecode_doubt(code)
    if doubt:
        # Kept in 2.9's form, but the exam's Python 3.8 may run it differently: written only once
        # its predictions match the original's.
        notes.needs_proof(f"{where}: {doubt}")
        notes.change(f"{where} kept as is: {doubt}")
    elif code is not None:
        notes.change(
            f"{where} kept as is: its bytecode reads as Python 3.8's; "
            "loading it runs that code (convert or verify with --trust load it to check parity)"
        )
    return config


def _runs_in_python38(function: Any, where: str, notes: Notes) -> LambdaCode | None:
    """The code when Python 3.8 can run it, else None (refused, saying why)."""
    code = inspect_lambda(function)
    if code.layout == "unknown":
        # Verify only warns here (the runtime check decides); convert cannot prove it and refuses.
        notes.refuse(f"{where} holds bytecode written by {code.writer}", LAMBDA_HINT)
        return None
    problem = bytecode_problem(code, load_rules().knowledge.python_opcodes)
    if problem:
        notes.refuse(f"{where}: {problem}", LAMBDA_HINT)
        return None
    return code


def _keras3_lambda(
    config: dict[str, Any], function: dict[str, Any], where: str, notes: Notes
) -> dict[str, Any]:
    """Keras 3 writes `{"class_name": "__lambda__", "config": {"code", "defaults", "closure"}}`
    (Python 3.9+ bytecode) and no module; 2.9 reads `[code, defaults, closure]` with
    `function_type: "lambda"` and looks names up in the module it is given, or its own. So the
    code is kept when Python 3.8 runs it and it looks up no name at all (a name could resolve
    to something else there), and it has no closure; code whose meaning in 3.8 the file cannot
    tell (bytecode_doubt) only with a passing parity check."""
    inner = function.get("config")
    if function.get("class_name") != "__lambda__" or not isinstance(inner, dict):
        notes.refuse(f"{where} calls a Python function Keras 3 saved by name", LAMBDA_HINT)
        return config
    code = _runs_in_python38(inner.get("code"), where, notes)
    if code is None:
        return config
    if (
        code.names
        or inner.get("closure") is not None
        or isinstance(config.get("output_shape"), dict)
    ):
        named = ", ".join(f"`{name}`" for name in sorted(code.names))
        why = (
            f"its Keras 3 code uses {named}, which Keras 2.9 would look up elsewhere"
            if named
            else "its Keras 3 function has a closure or an output_shape function, which "
            "Keras 2.9's form cannot carry"
        )
        notes.refuse(f"{where}: {why}", LAMBDA_HINT)
        return config
    doubt = bytecode_doubt(code)
    if doubt:
        # 2.9 could not load it before; written only once its predictions match the original's.
        notes.needs_proof(f"{where}: {doubt}")
    notes.change(f"{where}: Keras 3's function written in Keras 2.9's form (same bytecode)")
    legacy = {key: value for key, value in config.items() if key != "function"}
    legacy["function"] = [inner["code"], inner.get("defaults"), None]
    legacy["function_type"] = "lambda"
    for key, value in (("module", None), ("output_shape", None), ("output_shape_module", None)):
        legacy.setdefault(key, value)
    legacy.setdefault("output_shape_type", "raw")
    return legacy
