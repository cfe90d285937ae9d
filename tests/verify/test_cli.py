"""`tfbridge verify` as a user runs it: exit codes, JSON shape, one-line errors."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.conftest import run_tfbridge
from tests.verify.conftest import MODELS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_tfbridge("verify", *args, cwd=cwd)


def test_bundled_examples_pass_and_fail() -> None:
    assert run(str(EXAMPLES / "mnist_dense.h5"), "--no-runtime").returncode == 0
    done = run(str(EXAMPLES / "keras3_model.h5"), "--no-runtime", "--json")
    assert done.returncode == 1
    messages = [c["message"] for c in json.loads(done.stdout)["models"][0]["checks"]]
    assert any("`batch_shape`" in message for message in messages)


def test_loadable_model_exits_0() -> None:
    done = run(str(MODELS / "keras-2.9" / "dense_regression.h5"), "--no-runtime")
    assert done.returncode == 0, done.stderr
    assert "1 model(s): 1 pass" in done.stdout


def test_any_failure_exits_1_and_json_has_the_documented_shape() -> None:
    done = run(
        str(MODELS / "keras-2.9" / "dense_regression.h5"),
        str(MODELS / "keras-3" / "adamw.h5"),
        "--no-runtime",
        "--json",
    )
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    verdicts = [model["verdict"] for model in data["models"]]
    assert verdicts == ["pass", "fail"]
    for model in data["models"]:
        assert {"path", "verdict", "checks"} <= set(model)
        for check in model["checks"]:
            assert set(check) == {"id", "status", "message", "hint"}


def test_directory_expands_to_its_h5_files() -> None:
    done = run(str(MODELS / "keras-2.9"), "--no-runtime", "--json")
    paths = [model["path"] for model in json.loads(done.stdout)["models"]]
    assert len([p for p in paths if p.endswith(".h5")]) == len(
        list((MODELS / "keras-2.9").rglob("*.h5"))
    )


def test_contract_mismatch_fails() -> None:
    model = str(MODELS / "keras-2.9" / "dense_regression.h5")
    assert run(model, "--no-runtime", "--input-shape", "1", "--output-shape", "1").returncode == 0
    done = run(model, "--no-runtime", "--output-shape", "10", "--json")
    assert done.returncode == 1
    checks = json.loads(done.stdout)["models"][0]["checks"]
    assert any(c["id"] == "contract" and c["status"] == "fail" for c in checks)


def test_unreadable_inputs_give_one_line_and_exit_2() -> None:
    for bad in (
        MODELS / "broken" / "empty.h5",
        MODELS / "broken" / "not_hdf5.h5",
        MODELS / "broken" / "truncated.h5",
        MODELS / "nope.h5",
    ):
        done = run(str(bad), "--no-runtime")
        assert done.returncode == 2, (bad, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and bad.name in lines[0]


def test_bad_shape_option_is_a_usage_error() -> None:
    done = run(str(MODELS / "keras-2.9" / "dense_regression.h5"), "--input-shape", "a,b")
    assert done.returncode == 2 and "--input-shape" in done.stderr
    assert "Traceback" not in done.stderr


def test_slot_supplies_model_and_contract(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "mnist_dense.h5", tmp_path / "q1.h5")
    (tmp_path / "tfbridge.toml").write_text(
        '[slots.q1]\nmodel = "q1.h5"\ninput_shape = [28, 28]\noutput_shape = [10]\n'
        'output_activation = "softmax"\n\n'
        '[slots.q2]\nmodel = "q1.h5"\noutput_shape = [3]\noutput_activation = "sigmoid"\n',
        encoding="utf-8",
    )
    done = run("--slot", "q1", "--no-runtime", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    contract = [c for c in json.loads(done.stdout)["models"][0]["checks"] if c["id"] == "contract"]
    assert [c["status"] for c in contract] == ["pass", "pass", "pass"]
    done = run("--slot", "q2", "--no-runtime", "--json", cwd=tmp_path)
    assert done.returncode == 1
    contract = [c for c in json.loads(done.stdout)["models"][0]["checks"] if c["id"] == "contract"]
    assert [c["status"] for c in contract] == ["fail", "fail"]
    done = run("--slot", "q9", "--no-runtime", cwd=tmp_path)
    assert done.returncode == 2 and "no slot 'q9'" in done.stderr
