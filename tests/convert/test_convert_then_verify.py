"""The user's path: a Keras 3 model fails verify, convert fixes it, and verify (static and
runtime) then passes, with parity against the original model's predictions."""

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, run_tfbridge

pytestmark = pytest.mark.runtime


def _report(path: Path) -> dict[str, object]:
    done = run_tfbridge("verify", path, "--json")
    models = json.loads(done.stdout)["models"]
    assert len(models) == 1
    return {"exit": done.returncode, **models[0]}


def test_convert_makes_a_keras3_model_pass_verify_with_parity(
    exam_python: Path, tmp_path: Path
) -> None:
    source = tmp_path / "q2.h5"
    original = FIXTURES / "models" / "keras-3" / "nlp_lstm_binary.h5"
    shutil.copy(original, source)
    shutil.copy(
        original.with_name(original.name + ".fingerprint.json"),
        source.with_name("q2.h5.fingerprint.json"),
    )
    before = _report(source)
    assert before["exit"] == 1 and before["verdict"] == "fail"

    done = run_tfbridge("convert", source)
    assert done.returncode == 0, done.stderr
    assert "fingerprint:" in done.stdout

    after = _report(tmp_path / "q2.tf29.h5")
    assert after["exit"] == 0 and after["verdict"] == "pass"
    checks = {check["id"]: check["status"] for check in after["checks"]}  # type: ignore[attr-defined]
    assert checks["static.load"] == "pass"
    assert checks["runtime.load"] == "pass"
    assert checks["runtime.parity"] == "pass"
