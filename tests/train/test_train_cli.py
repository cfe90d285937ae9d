"""`tfbridge train` end to end: the real CLI, the real exam runtime, real training on the CPU."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest

from tests.conftest import FIXTURES, assert_one_line_error, run_tfbridge
from tfbridge.runtime import read_fingerprint

KERAS3_MODEL = FIXTURES / "models" / "keras-3" / "dense_regression.h5"
KERAS29_MODEL = FIXTURES / "models" / "keras-2.9" / "dense_regression.h5"

TINY_TRAINING = """
import sys
import numpy as np
import tensorflow as tf
from tfbridge_keras import ExamCheckpoint, exam_optimizer

assert sys.argv[1] == "--epochs", sys.argv
epochs = int(sys.argv[2])
x = np.random.RandomState(0).uniform(-1, 1, size=(64, 3)).astype("float32")
y = x.sum(axis=1, keepdims=True)
model = tf.keras.Sequential([tf.keras.layers.Dense(4, activation="relu", input_shape=(3,)),
                             tf.keras.layers.Dense(1)])
model.compile(optimizer=exam_optimizer("adam", learning_rate=0.01), loss="mse")
model.fit(x, y, epochs=epochs, validation_split=0.25, verbose=0,
          callbacks=[ExamCheckpoint("models/tiny.h5")])
print("TRAINED", epochs)
"""

SLOT_CONFIG = """
[target]
dest = "{target}"

[slots.q1]
model = "models/tiny.h5"
remote_dir = "Category1"
input_shape = [3]
output_shape = [1]
"""

# Saves the way a user on a newer Keras would (here: a real Keras 3 file), then fails.
SAVES_KERAS3_THEN_FAILS = """
import shutil, sys
shutil.copy(sys.argv[1], "keras3.h5")
sys.exit(3)
"""


def _project(tmp_path: Path, script: str) -> Path:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "exam-prep"\n')
    (tmp_path / "train.py").write_text(script)
    return tmp_path


def _project_with_a_slot(tmp_path: Path) -> tuple[Path, Path]:
    """The tiny training project with slot q1 for its model, and the exam machine's folder."""
    project = _project(tmp_path, TINY_TRAINING)
    exam_machine = tmp_path / "exam-machine"
    exam_machine.mkdir()
    (project / "tfbridge.toml").write_text(SLOT_CONFIG.format(target=exam_machine))
    return project, exam_machine


def _train_and_sync(project: Path, *flags: str, epochs: int) -> CompletedProcess[str]:
    command = ["train", "train.py", "--profile", "exam", "--allow-cpu", "--sync", *flags]
    return run_tfbridge(*command, "--", "--epochs", str(epochs), cwd=project)


def _train_json(stdout: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(stdout)
    return result


def _checks(model: dict[str, Any]) -> dict[str, str]:
    return {check["id"]: check["status"] for check in model["checks"]}


@pytest.mark.runtime
def test_train_on_cpu_fingerprints_verifies_records_and_syncs_the_model(
    exam_python: Path, tmp_path: Path
) -> None:
    project, exam_machine = _project_with_a_slot(tmp_path)
    untouched = project / "models" / "earlier.h5"
    untouched.parent.mkdir()
    shutil.copy(KERAS29_MODEL, untouched)

    done = _train_and_sync(project, "--json", epochs=2)

    assert done.returncode == 0, done.stderr[-3000:]
    assert "TRAINED 2" in done.stderr  # the script's output streams (to stderr under --json)
    assert "preflight: checking" not in done.stderr and "(1/1): gate" not in done.stderr
    result = _train_json(done.stdout)
    assert result["ok"] is True
    run = result["run"]
    assert run["exit_code"] == 0
    assert run["profile"] == "exam"
    assert run["device"] == "CPU"
    assert run["args"] == ["--epochs", "2"]
    model = project / "models" / "tiny.h5"
    assert [m["path"] for m in run["models"]] == [str(model)]
    assert run["models"][0]["verdict"] == "pass"
    fingerprint = read_fingerprint(model)
    assert fingerprint is not None and not fingerprint.stale
    assert fingerprint.writer.tf_version == "2.9.0"
    assert run["models"][0]["fingerprint"] == str(fingerprint.path)
    checks = _checks(result["models"][0])
    assert checks["runtime.load"] == "pass"
    assert checks["runtime.parity"] == "pass"
    assert any(check.startswith("contract") for check in checks), checks  # the slot's contract
    [sent] = result["sync"]["slots"]
    assert (sent["slot"], sent["action"]) == ("q1", "sent")
    assert (exam_machine / "Category1" / "tiny.h5").read_bytes() == model.read_bytes()

    listed = run_tfbridge("train", "--list", "--json", cwd=project)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["runs"] == [run]


@pytest.mark.runtime
def test_train_shows_each_phase_and_each_models_gate_n_of_n(
    exam_python: Path, tmp_path: Path
) -> None:
    project, _ = _project_with_a_slot(tmp_path)

    done = _train_and_sync(project, epochs=1)

    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stderr.splitlines()
    phases = [
        "preflight: checking the 'exam' environment",
        "running train.py with",
        "tiny.h5 (1/1): gate (pass)",
        "syncing q1",
        "q1 (1/1): upload",
        "q1 (1/1): place",
    ]
    found = [next((i for i, line in enumerate(lines) if line.startswith(p)), -1) for p in phases]
    assert -1 not in found and found == sorted(found), done.stderr[-3000:]


@pytest.mark.runtime
def test_failed_script_and_unloadable_model_are_recorded_not_synced_and_exit_1(
    exam_python: Path, tmp_path: Path
) -> None:
    project = _project(tmp_path, SAVES_KERAS3_THEN_FAILS)
    exam_machine = tmp_path / "exam-machine"
    exam_machine.mkdir()
    config = f'[target]\ndest = "{exam_machine}"\n[slots.q1]\nmodel = "keras3.h5"\n'
    (project / "tfbridge.toml").write_text(config)

    done = run_tfbridge(
        "train", "train.py", "--profile", "exam", "--sync", "--", KERAS3_MODEL, cwd=project
    )

    assert done.returncode == 1, done.stderr[-3000:]
    assert "train.py FAILED with exit code 3" in done.stdout
    assert "--sync sent nothing: --sync: no slot in the config names a model" in done.stderr
    assert list(exam_machine.iterdir()) == []
    runs = [
        json.loads(line) for line in (project / ".tfbridge" / "runs.jsonl").read_text().splitlines()
    ]
    assert len(runs) == 1
    run = runs[0]
    assert run["exit_code"] == 3
    [model] = run["models"]
    assert model["path"] == str(project / "keras3.h5")
    assert model["verdict"] == "fail"
    assert model["fingerprint"] is None
    assert "does not load" in model["problem"]


def test_metal_profile_is_refused_on_this_linux_machine(tmp_path: Path) -> None:
    project = _project(tmp_path, "print('never runs')\n")
    done = run_tfbridge("train", "train.py", "--profile", "metal", cwd=project)
    line = assert_one_line_error(done)
    assert "profile 'metal'" in line
    assert not (project / ".tfbridge").exists()


def test_missing_environment_stops_before_the_script(tmp_path: Path) -> None:
    project = _project(tmp_path, "open('ran', 'w').write('yes')\n")
    empty_home = tmp_path / "home"
    done = run_tfbridge(
        "train",
        "train.py",
        "--profile",
        "exam",
        cwd=project,
        env={"TFBRIDGE_HOME": str(empty_home)},
    )
    assert done.returncode == 1, done.stderr
    assert "preflight FAILED: the 'exam' environment is not set up" in done.stderr
    assert "run `tfbridge setup exam`" in done.stderr
    assert not (project / "ran").exists()
    assert not (project / ".tfbridge").exists()


def test_missing_script_is_a_usage_error(tmp_path: Path) -> None:
    line = assert_one_line_error(run_tfbridge("train", "nope.py", cwd=tmp_path))
    assert "no training script at nope.py" in line


def test_list_without_runs(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    done = run_tfbridge("train", "--list", cwd=tmp_path)
    assert done.returncode == 0
    assert "no training runs recorded" in done.stderr
    assert json.loads(run_tfbridge("train", "--list", "--json", cwd=tmp_path).stdout) == {
        "schema": 1,
        "runs": [],
    }
