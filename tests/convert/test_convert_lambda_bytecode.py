"""A Keras 3 Lambda whose meaning in Python 3.8 the file cannot tell (a jump, or an opcode number
3.9/3.10 reuse) is written in Keras 2.9's form only after TF 2.9's predictions match the
original's fingerprint; otherwise convert refuses, naming the opcodes. Real bytecode from the real
interpreters, real Keras 3.10 saves, the real TF 2.9 exam runtime."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.convert.lambda_models import keras3_lambda_with
from tests.convert.runtimes import run_script, saver_python
from tfbridge.convert import ConversionRefused, convert
from tfbridge.verify import verify_paths

PYENV = Path.home() / ".pyenv" / "versions"
COMPILE = (
    "import base64, marshal, sys; f = eval(sys.argv[1]); "
    "print(base64.b64encode(marshal.dumps(f.__code__)).decode())"
)
UNPROVEN = "may compute differently in the exam's Python 3.8; parity with a fingerprint"
# A jump and no name looked up: Keras 3's Lambda is otherwise convertible.
JUMPING = "lambda x: x * (2.0 or 1.0)"
SAVE_JUMPING = f"""
import sys
import keras
inputs = keras.Input(shape=(3,))
outputs = keras.layers.Dense(1)(keras.layers.Lambda({JUMPING})(inputs))
model = keras.Model(inputs, outputs)
model.compile(optimizer="sgd", loss="mse")
model.save(sys.argv[1])
print("{{}}")
"""


def compiled(version: str, source: str) -> str:
    python = PYENV / version / "bin" / "python"
    done = subprocess.run(
        [str(python), "-c", COMPILE, source], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.mark.parametrize(
    ("version", "source", "named"),
    [
        ("3.10.13", "lambda x: x and 1.0 or 2.0", "jumps (112 JUMP_IF_TRUE_OR_POP, 114"),
        ("3.9.18", "lambda x: [*x]", "162: CALL_FINALLY in 3.8, LIST_EXTEND in 3.9/3.10"),
    ],
)
def test_unprovable_keras3_lambda_code_is_refused_without_parity(
    tmp_path: Path, version: str, source: str, named: str
) -> None:
    model = keras3_lambda_with(compiled(version, source), tmp_path)
    with pytest.raises(ConversionRefused) as refused:
        convert(model, tmp_path / "out.h5", check_parity=False)
    assert named in refused.value.message and UNPROVEN in refused.value.message
    assert "could not be checked" in refused.value.message
    assert not (tmp_path / "out.h5").exists()


def test_straight_line_keras3_lambda_code_needs_no_parity(tmp_path: Path) -> None:
    model = keras3_lambda_with(compiled("3.9.18", "lambda x: x * 2.0 + 1.0"), tmp_path)
    report = convert(model, tmp_path / "out.h5", check_parity=False)
    assert any("written in Keras 2.9's form (same bytecode)" in c for c in report.changes)


@pytest.mark.runtime
def test_jumping_keras3_lambda_is_written_once_parity_passes_and_verify_never_passes_it(
    exam_python: Path, tmp_path: Path
) -> None:
    saver = saver_python("keras-3.10")  # Python 3.9: its jumps count bytes, as 3.8's do
    source = tmp_path / "in" / "jumping.h5"
    source.parent.mkdir()
    run_script(saver, SAVE_JUMPING, str(source))
    report = convert(source, tmp_path / "out.h5", reference_python=saver, trust=True)
    assert report.parity is not None and report.parity.status == "pass", report.parity
    assert any("written in Keras 2.9's form" in change for change in report.changes)

    (model,) = verify_paths([report.output], trust=True, exam_python=exam_python).models
    by_id = {check.id: check for check in model.checks}
    assert by_id["runtime.load"].status == "pass" and by_id["runtime.parity"].status == "pass"
    assert by_id["static.lambda"].status == "warn" and UNPROVEN in by_id["static.lambda"].message
    assert model.verdict == "warn"
