"""Whether the exam's Python 3.8 can run a Lambda layer's saved bytecode: one answer for verify
(which reports it) and convert (which refuses it). Read from the marshal data, never run.

Python 3.8, 3.9 and 3.10 write code objects in the same marshal layout, so the file does not say
which of them wrote a Lambda. Python 3.8 then runs the code as its own, and that is what its writer
meant only when the code has no jump (3.10 counts jump arguments in instructions, 3.8 in bytes) and
no opcode number that 3.9/3.10 gave another meaning (measured: 3.9's `lambda x: [*x]` returns 6
for any input under 3.8, 3.10's `lambda x: x and 1 or 2` crashes it).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from tfbridge.errors import TfbridgeError
from tfbridge.keras29.lambda_code import LambdaCode
from tfbridge.paths import DATA_FILES_DIR
from tfbridge.records import Invalid, Record, decode_json

OPCODES_FILE = DATA_FILES_DIR / "python_opcodes.json"
PYTHON38 = "3.8"
PYTHON310 = "3.10"
NEWER = ("3.9", PYTHON310)
UNPROVEN = (
    "it may compute differently in the exam's Python 3.8; parity with a fingerprint is the "
    "only proof"
)


class OpcodeTable(Record, frozen=True):
    """tfbridge/data/python_opcodes.json, written by scripts/gen_python_opcodes.py."""

    generated_by: str
    pythons: dict[str, str]
    # opcode number -> its name in each Python ("<117>" where that Python has none)
    differing: dict[int, dict[str, str]]
    # opcode number -> its name in each Python where it is a jump
    jumps: dict[int, dict[str, str]]

    def name(self, opcode: int) -> str:
        names = {**self.jumps.get(opcode, {}), **self.differing.get(opcode, {})}
        real = [names[v] for v in (PYTHON38, *NEWER) if not names.get(v, "<").startswith("<")]
        return "/".join(dict.fromkeys(real)) or str(opcode)

    def reused(self, opcode: int) -> bool:
        """Whether the number is an opcode of 3.8 that 3.9 or 3.10 uses for another one."""
        names = self.differing.get(opcode)
        if names is None or names[PYTHON38].startswith("<"):
            return False
        return any(not names[v].startswith("<") for v in NEWER)


@lru_cache(maxsize=2)
def load_opcode_table(path: Path = OPCODES_FILE) -> OpcodeTable:
    table = decode_json(path.read_bytes(), OpcodeTable)
    if isinstance(table, Invalid):
        raise TfbridgeError(
            f"{path} is not tfbridge's opcode table ({table.key or 'the file'}: {table.problem})",
            hint="reinstall tfbridge, or run scripts/gen_python_opcodes.py",
        )
    return table


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
            f"its bytecode uses opcodes Python 3.8 lacks ({_named(newer)}): "
            "written by Python 3.9 or newer"
        )
    return ""


def bytecode_doubt(code: LambdaCode) -> str:
    """Why what this 3.8-3.10 layout code does in Python 3.8 cannot be known from the file, or
    "". Only meaningful once bytecode_problem found nothing."""
    if code.layout != "py38-310":
        return ""
    table = load_opcode_table()
    reused = sorted(op for op in code.opcodes if table.reused(op))
    jumps = sorted(op for op in code.opcodes if PYTHON310 in table.jumps.get(op, {}))
    reasons = []
    if reused:
        meanings = ", ".join(_meanings(table, op) for op in reused)
        reasons.append(f"opcodes that mean another thing in Python 3.8 ({meanings})")
    if jumps:
        reasons.append(
            f"jumps ({_named(jumps)}), whose targets Python 3.10 counts in instructions and "
            "3.8 in bytes"
        )
    if not reasons:
        return ""
    return (
        f"its bytecode uses {' and '.join(reasons)}; Python 3.8-3.10 write the same code layout, "
        f"so which of them wrote it cannot be known from the file: {UNPROVEN}"
    )


def _named(opcodes: list[int]) -> str:
    table = load_opcode_table()
    return ", ".join(f"{op} {table.name(op)}" for op in opcodes)


def _meanings(table: OpcodeTable, opcode: int) -> str:
    versions_of: dict[str, list[str]] = {}
    for version, name in table.differing[opcode].items():
        if not name.startswith("<"):
            versions_of.setdefault(name, []).append(version)
    said = ", ".join(f"{name} in {'/'.join(versions)}" for name, versions in versions_of.items())
    return f"{opcode}: {said}"
