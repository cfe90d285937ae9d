"""Lambda bytecode: which Python wrote it, and whether Python 3.8 runs it as its writer meant,
from real interpreters' marshal output placed into a real Keras 2.9 `.h5` file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

from tests.verify.conftest import MODELS
from tfbridge.keras29.knowledge import load_knowledge
from tfbridge.keras29.lambda_code import inspect_lambda
from tfbridge.keras29.lambdas import bytecode_doubt, load_opcode_table
from tfbridge.verify import static_check

PYENV = Path.home() / ".pyenv" / "versions"
DUMP = (
    "import base64, marshal; f = lambda x: [y for y in x if y is not None]; "
    "print(base64.b64encode(marshal.dumps(f.__code__)).decode())"
)


COMPILE = (
    "import base64, marshal, sys; f = eval(sys.argv[1]); "
    "print(base64.b64encode(marshal.dumps(f.__code__)).decode())"
)
STRAIGHT = "lambda x: x * 2.0 + 1.0"
CONDITIONAL = "lambda x: x and 1.0 or 2.0"
LIST_EXTEND = "lambda x: [*x]"
UNPROVEN = "may compute differently in the exam's Python 3.8; parity with a fingerprint"


def _python(version: str) -> Path:
    python = PYENV / version / "bin" / "python"
    assert python.exists(), f"this machine kind has pyenv's Python {version} at {python}"
    return python


def _dump(version: str) -> str:
    return subprocess.run(
        [str(_python(version)), "-c", DUMP], capture_output=True, text=True, check=True
    ).stdout.strip()


def _compiled(version: str, source: str) -> str:
    """base64 of marshal.dumps(code), as Keras writes a Lambda, by the real interpreter."""
    return subprocess.run(
        [str(_python(version)), "-c", COMPILE, source], capture_output=True, text=True, check=True
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


def test_opcode_table_is_what_the_real_interpreters_say() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    import gen_python_opcodes

    built = gen_python_opcodes.build()
    table = load_opcode_table()
    for key, committed in (("differing", table.differing), ("jumps", table.jumps)):
        assert {int(number): names for number, names in built[key].items()} == committed
    assert table.reused(162) and table.name(162) == "CALL_FINALLY/LIST_EXTEND"


@pytest.mark.parametrize("version", ["3.8.18", "3.9.18", "3.10.13"])
def test_straight_line_code_raises_no_doubt(version: str) -> None:
    assert bytecode_doubt(inspect_lambda(_compiled(version, STRAIGHT))) == ""


def test_python38_code_that_3_9_would_write_otherwise_is_untouched() -> None:
    """3.8 writes `[*x]` with BUILD_LIST_UNPACK, a number 3.9/3.10 never write."""
    assert bytecode_doubt(inspect_lambda(_compiled("3.8.18", LIST_EXTEND))) == ""


def test_python39_list_extend_is_a_reused_opcode() -> None:
    doubt = bytecode_doubt(inspect_lambda(_compiled("3.9.18", LIST_EXTEND)))
    assert "162: CALL_FINALLY in 3.8, LIST_EXTEND in 3.9/3.10" in doubt
    assert UNPROVEN in doubt


@pytest.mark.parametrize("version", ["3.8.18", "3.10.13"])
def test_any_jump_is_doubted_as_the_writer_cannot_be_told(version: str) -> None:
    """3.10's jumps count instructions, 3.8's bytes; the two files differ only in the numbers."""
    doubt = bytecode_doubt(inspect_lambda(_compiled(version, CONDITIONAL)))
    assert "jumps (112 JUMP_IF_TRUE_OR_POP, 114 POP_JUMP_IF_FALSE)" in doubt
    assert UNPROVEN in doubt


def test_jumps_in_a_lambda_inside_a_lambda_are_found() -> None:
    code = inspect_lambda(_compiled("3.10.13", f"lambda x: ({CONDITIONAL})(x)"))
    assert "jumps (112 JUMP_IF_TRUE_OR_POP" in bytecode_doubt(code)


def _lambda_model(tmp_path: Path, code: str) -> Path:
    """Keras 2.9's own timeseries model (Python 3.8), its Lambdas given `code`."""
    model = tmp_path / "lambda.h5"
    shutil.copyfile(MODELS / "keras-2.9" / "timeseries_lambda.h5", model)
    with h5py.File(model, "r+") as handle:
        config = json.loads(handle.attrs["model_config"])
        for layer in config["config"]["layers"]:
            if layer["class_name"] == "Lambda":
                layer["config"]["function"][0] = code
        handle.attrs["model_config"] = json.dumps(config).encode()
    return model


def _lambda_checks(model: Path) -> list[tuple[str, str, str]]:
    report = static_check(model)
    assert report.static_load == "compile", report.checks
    return [(c.status, c.message, c.hint) for c in report.checks if c.id == "static.lambda"]


@pytest.mark.parametrize(
    ("version", "source"),
    [("3.9.18", STRAIGHT), ("3.8.18", STRAIGHT), ("3.8.18", LIST_EXTEND)],
)
def test_static_verify_accepts_code_whose_meaning_in_38_is_certain(
    tmp_path: Path, version: str, source: str
) -> None:
    checks = _lambda_checks(_lambda_model(tmp_path, _compiled(version, source)))
    assert checks and all(status == "warn" for status, _, _ in checks)
    assert all("loading runs its Python bytecode" in message for _, message, _ in checks)
    assert not any(UNPROVEN in message for _, message, _ in checks)


@pytest.mark.parametrize(("version", "source"), [("3.10.13", CONDITIONAL), ("3.9.18", LIST_EXTEND)])
def test_static_verify_warns_that_only_parity_proves_such_code(
    tmp_path: Path, version: str, source: str
) -> None:
    checks = _lambda_checks(_lambda_model(tmp_path, _compiled(version, source)))
    assert checks and all(status == "warn" and UNPROVEN in message for status, message, _ in checks)
    assert all("tfbridge fingerprint" in hint for _, _, hint in checks)
