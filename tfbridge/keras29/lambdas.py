"""Whether the exam's Python 3.8 can run a Lambda layer's saved bytecode: one answer for verify
(which reports it) and convert (which refuses it). Read from the marshal data, never run."""

from __future__ import annotations

from tfbridge.keras29.lambda_code import LambdaCode


def bytecode_problem(code: LambdaCode, python38_opcodes: frozenset[int]) -> str:
    """Why Python 3.8 in the exam cannot load this Lambda's code, or ""."""
    if code.layout == "unreadable":
        return (
            f"unreadable Lambda code ({code.detail}): Python 3.8 cannot turn it into a "
            "function, so the exam's load_model fails"
        )
    if code.layout == "py311+":
        return (
            f"its bytecode was written by {code.writer}; Python 3.8 in the exam fails "
            "with 'bad marshal data (unknown type code)'"
        )
    newer = sorted(code.opcodes - python38_opcodes)
    if newer:
        return (
            f"its bytecode uses opcodes Python 3.8 lacks ({', '.join(map(str, newer))}): "
            "written by Python 3.9 or newer"
        )
    return ""
