"""Faults around the runtime check, for real: broken fingerprints, FIFOs, workers that die, code
that must not run without --trust."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import assert_one_line_error, run_tfbridge
from tests.verify.conftest import MODELS
from tfbridge.errors import TfbridgeError
from tfbridge.runtime import RuntimeWorker
from tfbridge.verify import verify_paths

FIXTURE = MODELS / "keras-2.9" / "dense_regression.h5"


def copy_with_fingerprint(source: Path, directory: Path, name: str) -> Path:
    model = Path(shutil.copy(source, directory / name))
    shutil.copy(f"{source}.fingerprint.json", f"{model}.fingerprint.json")
    return model


def checks_of(model: dict[str, Any], check_id: str) -> list[dict[str, Any]]:
    return [check for check in model["checks"] if check["id"] == check_id]


@pytest.mark.runtime
def test_one_corrupt_fingerprint_fails_its_model_and_not_the_batch(
    exam_python: Path, tmp_path: Path
) -> None:
    copy_with_fingerprint(FIXTURE, tmp_path, "good.h5")
    corrupt = copy_with_fingerprint(FIXTURE, tmp_path, "corrupt.h5")
    Path(f"{corrupt}.fingerprint.json").write_text('{"schema": "tfbridge.fingerprint", "mod')
    wrong = copy_with_fingerprint(FIXTURE, tmp_path, "wrong_types.h5")
    document = json.loads(Path(f"{wrong}.fingerprint.json").read_text())
    document["outputs"] = [{"name": "x", "dtype": "float32", "shape": "abc", "values": 7}]
    Path(f"{wrong}.fingerprint.json").write_text(json.dumps(document))
    fifo = Path(shutil.copy(FIXTURE, tmp_path / "fifo.h5"))
    os.mkfifo(f"{fifo}.fingerprint.json")
    done = run_tfbridge("verify", tmp_path, "--json", timeout=600)
    assert done.returncode == 1, done.stderr
    models = {Path(m["path"]).name: m for m in json.loads(done.stdout)["models"]}
    assert models["good.h5"]["verdict"] == "pass"
    assert checks_of(models["good.h5"], "runtime.parity")[0]["status"] == "pass"
    reasons = {"corrupt.h5": "Unterminated", "wrong_types.h5": "bad field", "fifo.h5": "FIFO"}
    for name, reason in reasons.items():
        parity = checks_of(models[name], "runtime.parity")
        assert models[name]["verdict"] == "fail", name
        assert parity[0]["status"] == "fail" and "cannot read fingerprint" in parity[0]["message"]
        assert reason in parity[0]["message"], parity[0]["message"]
        assert "tfbridge fingerprint" in parity[0]["hint"]


@pytest.mark.runtime
def test_a_worker_that_dies_on_one_model_exits_3_after_the_others_get_a_verdict(
    exam_python: Path, models: Path
) -> None:
    done = run_tfbridge(
        "verify", models / "crashing.h5", models / "dense.h5", "--trust", "--json", timeout=600
    )
    line = assert_one_line_error(done, 3)
    assert "died while" in line and "crashing.h5" in line and str(exam_python) in line
    verdicts = {Path(m["path"]).name: m for m in json.loads(done.stdout)["models"]}
    assert verdicts["dense.h5"]["verdict"] != "fail"
    assert checks_of(verdicts["dense.h5"], "runtime.load")[0]["status"] == "pass"
    assert verdicts["crashing.h5"]["verdict"] == "fail"
    assert json.loads(done.stdout)["worker_failures"]


@pytest.mark.runtime
def test_a_lambda_payload_never_runs_without_trust(
    exam_python: Path, models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "payload-ran"
    monkeypatch.setenv("TFBRIDGE_TEST_MARKER", str(marker))
    report = verify_paths([models / "marking.h5"], exam_python=exam_python)
    model = report.models[0]
    assert not marker.exists()
    assert model.runtime_load is None
    assert model.runtime_skipped == "not loaded without --trust (it has Lambda layers)"
    trusted = verify_paths([models / "marking.h5"], exam_python=exam_python, trust=True)
    assert marker.exists(), "with --trust the payload is really loaded and run"
    assert trusted.models[0].runtime_load == "compile"


@pytest.mark.runtime
def test_fingerprint_refuses_a_fifo_target_without_hanging(exam_python: Path, models: Path) -> None:
    os.mkfifo(models / "dense.h5.fingerprint.json")
    done = run_tfbridge(
        "fingerprint", models / "dense.h5", "--python", exam_python, "--json", timeout=300
    )
    assert done.returncode == 1, done.stderr
    outcome = json.loads(done.stdout)["models"][0]
    assert not outcome["ok"] and "refusing to write" in outcome["error"]
    assert "FIFO" in outcome["error"]
    assert not [p for p in models.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.runtime
def test_fingerprint_skips_a_fifo_model_and_writes_the_rest(
    exam_python: Path, models: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    shutil.copy(models / "dense.h5", folder / "dense.h5")
    os.mkfifo(folder / "pipe.h5")
    done = run_tfbridge("fingerprint", folder, "--python", exam_python, "--json", timeout=600)
    assert done.returncode == 1, done.stderr
    outcomes = {Path(o["model"]).name: o for o in json.loads(done.stdout)["models"]}
    assert not outcomes["pipe.h5"]["ok"] and "FIFO" in outcomes["pipe.h5"]["error"]
    assert outcomes["dense.h5"]["ok"]
    assert (folder / "dense.h5.fingerprint.json").is_file()


@pytest.mark.runtime
def test_the_worker_refuses_a_fifo_before_opening_it(
    exam_worker: RuntimeWorker, tmp_path: Path
) -> None:
    os.mkfifo(tmp_path / "pipe.h5")
    with pytest.raises(TfbridgeError, match="a FIFO"):
        exam_worker.load(tmp_path / "pipe.h5")


def test_a_worker_that_cannot_start_is_exit_3_in_one_line(tmp_path: Path) -> None:
    dying = tmp_path / "python"
    dying.write_text("#!/bin/sh\nexit 7\n")
    dying.chmod(0o755)
    model = Path(shutil.copy(FIXTURE, tmp_path / "model.h5"))
    done = run_tfbridge("fingerprint", model, "--python", dying, timeout=120)
    line = assert_one_line_error(done, 3)
    assert f"the TensorFlow worker in {dying} died while importing TensorFlow" in line
    assert "exit code 7" in line


def test_an_interpreter_without_tensorflow_is_exit_3(tmp_path: Path) -> None:
    import sys

    model = Path(shutil.copy(FIXTURE, tmp_path / "model.h5"))
    done = run_tfbridge("fingerprint", model, "--python", sys.executable, "--json", timeout=120)
    assert_one_line_error(done, 3)
    error = json.loads(done.stdout)["error"]
    assert error["exit_code"] == 3 and "TensorFlow does not import" in error["message"]


@pytest.mark.runtime
def test_fingerprint_runs_a_lambda_payload_only_with_trust(
    exam_python: Path, models: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "payload-ran"
    env = {"TFBRIDGE_TEST_MARKER": str(marker)}
    model = models / "marking.h5"
    done = run_tfbridge("fingerprint", model, "--python", exam_python, "--json", env=env)
    assert done.returncode == 1, done.stderr
    outcome = json.loads(done.stdout)["models"][0]
    assert "not fingerprinted: it has Lambda layers" in outcome["error"]
    assert not marker.exists() and not Path(f"{model}.fingerprint.json").exists()
    done = run_tfbridge("fingerprint", model, "--python", exam_python, "--trust", env=env)
    assert done.returncode == 0, done.stderr
    assert marker.exists() and Path(f"{model}.fingerprint.json").is_file()


@pytest.mark.runtime
def test_fingerprint_refuses_a_model_whose_attributes_are_damaged(
    exam_python: Path, tmp_path: Path
) -> None:
    import h5py

    model = Path(shutil.copy(FIXTURE, tmp_path / "damaged.h5"))
    with h5py.File(model, "r+") as handle:
        handle.attrs["training_config"] = '{"optimizer_config": '
    done = run_tfbridge("fingerprint", model, "--python", exam_python, "--json")
    assert done.returncode == 1, done.stderr
    error = json.loads(done.stdout)["models"][0]["error"]
    assert "not fingerprinted: its `training_config` attribute is not valid JSON" in error
    assert not Path(f"{model}.fingerprint.json").exists()
