"""`tfbridge fingerprint` end to end, as a user runs it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import run_tfbridge


@pytest.mark.runtime
def test_fingerprint_json_and_exit_code(exam_python: Path, models: Path) -> None:
    (models / "notes.h5").write_text("not a model\n")
    done = run_tfbridge(
        "fingerprint",
        str(models / "dense.h5"),
        str(models / "notes.h5"),
        "--python",
        str(exam_python),
        "--json",
    )
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["python"] == str(exam_python)
    assert [(m["model"], m["ok"]) for m in report["models"]] == [
        (str(models / "dense.h5"), True),
        (str(models / "notes.h5"), False),
    ]
    assert report["models"][0]["fingerprint"] == str(models / "dense.h5.fingerprint.json")
    assert (models / "dense.h5.fingerprint.json").is_file()
    assert "Traceback" not in done.stderr


def test_missing_model_is_a_usage_error(tmp_path: Path) -> None:
    done = run_tfbridge("fingerprint", str(tmp_path / "absent.h5"), "--python", sys.executable)
    assert done.returncode == 2
    assert done.stderr.startswith("error: no such model file")


def test_python_and_profile_together_is_a_usage_error(tmp_path: Path) -> None:
    model = tmp_path / "model.h5"
    model.write_bytes(b"\x89HDF")
    done = run_tfbridge("fingerprint", str(model), "--python", sys.executable, "--profile", "exam")
    assert done.returncode == 2
    assert "either --python or --profile" in done.stderr


def test_missing_interpreter_is_a_usage_error(tmp_path: Path) -> None:
    model = tmp_path / "model.h5"
    model.write_bytes(b"\x89HDF")
    done = run_tfbridge("fingerprint", str(model), "--python", str(tmp_path / "nowhere" / "python"))
    assert done.returncode == 2
    assert "no Python interpreter at" in done.stderr
    assert "Traceback" not in done.stderr
