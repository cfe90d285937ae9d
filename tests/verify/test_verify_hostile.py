"""Hostile inputs, built for real: FIFOs, devices, sockets, link loops, damaged attributes, code
bombs. Each is one model's failing check, never a hang, a traceback or the end of the batch."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from tests.conftest import assert_one_line_error, run_tfbridge
from tests.verify.conftest import MODELS
from tfbridge.verify import static_check, verify_paths

GOOD = MODELS / "keras-2.9" / "dense_regression.h5"
LAMBDA = MODELS / "keras-2.9" / "timeseries_lambda.h5"
# CLI runs here must finish quickly: a FIFO that blocked a reader would hit this.
QUICK = 120
# The tests run as root, who reads mode-000 files; without these capabilities it cannot.
AS_A_USER = ("setpriv", "--bounding-set", "-dac_override,-dac_read_search")


def verify_json(*args: str | Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = run_tfbridge("verify", *args, "--no-runtime", "--json", env=env, timeout=QUICK)
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {Path(model["path"]).name: model for model in report["models"]}


def messages(model: dict[str, Any]) -> str:
    return " | ".join(check["message"] for check in model["checks"])


def with_config(tmp_path: Path, name: str, source: Path = GOOD, **attributes: Any) -> Path:
    """A copy of a real model with some HDF5 attributes replaced."""
    target = tmp_path / name
    shutil.copy(source, target)
    with h5py.File(target, "r+") as handle:
        for key, value in attributes.items():
            handle.attrs[key] = value
    return target


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return Path(shutil.copy(GOOD, tmp_path / "good.h5"))


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "sock.h5"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    yield path
    server.close()


# ------------------------------------------------------------ files that are not regular files


def test_a_fifo_alone_is_refused_in_one_line_without_opening_it(tmp_path: Path) -> None:
    fifo = tmp_path / "x.h5"
    os.mkfifo(fifo)
    done = run_tfbridge("verify", fifo, "--no-runtime", timeout=QUICK)
    line = assert_one_line_error(done, 2)
    assert "x.h5: a FIFO (named pipe), not a regular file" in line
    assert "empty" not in line


def test_special_files_in_a_directory_fail_alone_and_the_good_model_passes(
    tmp_path: Path, good: Path, unix_socket: Path
) -> None:
    os.mkfifo(tmp_path / "fifo.h5")
    (tmp_path / "device.h5").symlink_to("/dev/null")
    (tmp_path / "loop_a.h5").symlink_to(tmp_path / "loop_b.h5")
    (tmp_path / "loop_b.h5").symlink_to(tmp_path / "loop_a.h5")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "up").symlink_to(tmp_path)  # a directory loop the walk must not follow
    shutil.copy(GOOD, tmp_path / "sub" / "second.HDF5")
    models = by_name(verify_json(tmp_path))
    assert set(models) == {
        "good.h5",
        "second.HDF5",
        "fifo.h5",
        "device.h5",
        "loop_a.h5",
        "loop_b.h5",
        "sock.h5",
    }
    assert models["good.h5"]["verdict"] == "pass"
    assert models["second.HDF5"]["verdict"] == "pass"
    expected = {
        "fifo.h5": "a FIFO (named pipe), not a regular file",
        "device.h5": "a character device, not a regular file",
        "loop_a.h5": "a symbolic link loop",
        "sock.h5": "a socket, not a regular file",
    }
    for name, reason in expected.items():
        assert models[name]["verdict"] == "fail"
        assert reason in messages(models[name]), (name, messages(models[name]))


def test_fingerprint_discovers_models_by_the_same_rule(tmp_path: Path, good: Path) -> None:
    from tfbridge.model_files import discover_models
    from tfbridge.runtime.fingerprint import expand_model_paths

    shutil.copy(GOOD, tmp_path / "other.hdf5")
    (tmp_path / "notes.txt").write_text("not a model\n")
    assert expand_model_paths([tmp_path]) == discover_models([tmp_path])
    assert [p.name for p in discover_models([tmp_path])] == ["good.h5", "other.hdf5"]


def test_unreadable_files_and_directories_are_reported_not_skipped(
    tmp_path: Path, good: Path
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    shutil.copy(GOOD, locked / "hidden.h5")
    shutil.copy(GOOD, tmp_path / "secret.h5")
    (tmp_path / "secret.h5").chmod(0)
    locked.chmod(0)
    try:
        done = run_tfbridge(
            "verify", tmp_path, "--no-runtime", "--json", timeout=QUICK, prefix=AS_A_USER
        )
    finally:
        locked.chmod(0o755)
    assert done.returncode == 1, done.stderr
    models = by_name(json.loads(done.stdout))
    assert models["good.h5"]["verdict"] == "pass"
    assert "cannot be listed (Permission denied)" in messages(models["locked"])
    assert "not readable (permission denied)" in messages(models["secret.h5"])


# ------------------------------------------------------------ attributes Keras 2.9 cannot read


def test_json_nested_ten_thousand_deep_is_named_as_such(tmp_path: Path, good: Path) -> None:
    deep = with_config(tmp_path, "deep.h5", model_config="[" * 10_000 + "]" * 10_000)
    models = by_name(verify_json(good, deep))
    assert models["good.h5"]["verdict"] == "pass"
    text = messages(models["deep.h5"])
    assert "`model_config` attribute holds JSON nested too deep" in text
    assert "not a readable Keras config" in text and "truncated" not in text


def test_an_attribute_that_is_not_utf8_is_one_failing_check(tmp_path: Path, good: Path) -> None:
    latin = with_config(tmp_path, "latin.h5", model_config=np.bytes_(b'{"class_name": "\xff"}'))
    models = by_name(verify_json(good, latin))
    failing = [c for c in models["latin.h5"]["checks"] if c["status"] == "fail"]
    assert [c["id"] for c in failing] == ["static.load", "static.model_config"]
    assert "`model_config` attribute is not UTF-8 text" in failing[1]["message"]
    assert models["good.h5"]["verdict"] == "pass"


@pytest.mark.parametrize(
    ("config", "kind"),
    [
        ("[1, 2]", "a JSON list"),
        ("42", "a JSON number"),
        ('"Sequential"', "a JSON string"),
        ("null", "JSON null"),
        ('{"config": {}}', "a JSON object without `class_name`"),
    ],
)
def test_a_config_that_is_not_a_model_config_says_so(
    tmp_path: Path, config: str, kind: str
) -> None:
    report = static_check(with_config(tmp_path, "odd.h5", model_config=config))
    assert report.verdict == "fail" and report.static_load == "never"
    assert any(
        f"holds {kind}, not a Keras model config" in check.message for check in report.checks
    )


def test_wrong_types_anywhere_are_findings_never_crashes(tmp_path: Path) -> None:
    config = json.loads(h5py.File(GOOD, "r").attrs["model_config"])
    layers = config["config"]["layers"]
    layers[0]["config"]["batch_input_shape"] = [None, "wide", {"x": 1}]
    layers[0]["config"]["kernel_initializer"] = {"class_name": ["not", "a", "name"]}
    layers.append(7)
    layers.append({"class_name": "Dense", "config": ["not", "a", "dict"]})
    training = {"optimizer_config": ["odd"], "loss": 3.5, "metrics": [[{"class_name": 1}]]}
    odd = with_config(
        tmp_path, "odd.h5", model_config=json.dumps(config), training_config=json.dumps(training)
    )
    from tfbridge.contract import Contract

    report = static_check(odd, Contract(input_shape=(28, 28), output_shape=(10,)))
    ids = [check.id for check in report.checks]
    assert "static.error" not in ids, [c.message for c in report.checks]
    assert report.verdict == "fail"
    assert any("lacks `class_name`/`config`" in c.message for c in report.checks)
    assert any("its config is not a dict" in c.message for c in report.checks)


def test_damaged_weight_groups_are_a_weights_finding(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.h5"
    shutil.copy(GOOD, damaged)
    with h5py.File(damaged, "r+") as handle:
        group = handle["model_weights"]
        first = group.attrs["layer_names"][0]
        del group[first.decode() if isinstance(first, bytes) else first]
    report = static_check(damaged)
    weights = [c for c in report.checks if c.id == "static.weights"]
    assert weights[0].status == "fail" and "damaged or incomplete" in weights[0].message


# ------------------------------------------------------------ Lambda code bombs


def nested_marshal(depth: int) -> str:
    """Marshal data of a tuple nested `depth` deep: a structure, not a function."""
    return base64.b64encode(b")\x01" * depth + b"N").decode("ascii")


def lambda_with(tmp_path: Path, name: str, function: Any) -> Path:
    config = json.loads(h5py.File(LAMBDA, "r").attrs["model_config"])
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "Lambda":
            layer["config"]["function"] = function
    return with_config(tmp_path, name, source=LAMBDA, model_config=json.dumps(config))


def test_deeply_nested_lambda_code_fails_that_model_only(tmp_path: Path, good: Path) -> None:
    bomb = lambda_with(tmp_path, "bomb.h5", [nested_marshal(50_000), None, None])
    models = by_name(verify_json(good, bomb))
    assert models["good.h5"]["verdict"] == "pass"
    failing = [c for c in models["bomb.h5"]["checks"] if c["id"] == "static.model_config"]
    assert failing and failing[0]["status"] == "fail"
    assert "unreadable Lambda code" in failing[0]["message"]
    assert "nested more than" in failing[0]["message"]


def test_oversized_lambda_code_is_unreadable(tmp_path: Path) -> None:
    from tfbridge.keras29.lambda_code import MAX_ENCODED_CHARS, inspect_lambda

    code = inspect_lambda("A" * (MAX_ENCODED_CHARS + 4))
    assert code.layout == "unreadable" and "too large" in code.detail


def test_the_whole_batch_survives_every_hostile_model_at_once(
    tmp_path: Path, good: Path, unix_socket: Path
) -> None:
    os.mkfifo(tmp_path / "fifo.h5")
    lambda_with(tmp_path, "bomb.h5", nested_marshal(50_000))
    with_config(tmp_path, "deep.h5", model_config="{" * 5 + "[" * 20_000)
    with_config(tmp_path, "null.h5", model_config="null")
    report = verify_paths([tmp_path], runtime=False)
    verdicts = {model.path.name: model.verdict for model in report.models}
    assert verdicts.pop("good.h5") == "pass"
    assert set(verdicts.values()) == {"fail"} and len(verdicts) == 5
    assert all(model.runtime_skipped for model in report.models)


# ------------------------------------------------------------ a verdict says if it is static only


def test_verdict_line_says_static_only_when_the_exam_env_is_missing(
    tmp_path: Path, good: Path
) -> None:
    nowhere = {"TFBRIDGE_HOME": str(tmp_path / "no-envs"), "COLUMNS": "200"}
    done = run_tfbridge("verify", good, env=nowhere, timeout=QUICK)
    assert done.returncode == 0, done.stderr
    assert "PASS (static only: the exam environment is not set up)" in done.stdout
    done = run_tfbridge("verify", good, "-q", env=nowhere, timeout=QUICK)
    assert "(static only: the exam environment is not set up)" in done.stdout.splitlines()[0]
    done = run_tfbridge("verify", good, "--json", env=nowhere, timeout=QUICK)
    model = json.loads(done.stdout)["models"][0]
    assert model["runtime_skipped"] == "the exam environment is not set up"


@pytest.mark.parametrize("shape", ["0,28", "28,-1", "", "28,x", ",,"])
def test_shapes_must_be_positive_sizes(good: Path, shape: str) -> None:
    done = run_tfbridge("verify", good, "--no-runtime", "--input-shape", shape, timeout=QUICK)
    assert "--input-shape" in assert_one_line_error(done, 2)


def test_none_sizes_are_accepted(good: Path) -> None:
    done = run_tfbridge(
        "verify", good, "--no-runtime", "--input-shape", "None", "--output-shape", "1"
    )
    assert done.returncode == 0, done.stderr


def test_verify_never_hangs_on_a_fifo_given_as_a_slot_model(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "q1.h5")
    (tmp_path / "tfbridge.toml").write_text('[slots.q1]\nmodel = "q1.h5"\n', encoding="utf-8")
    done = run_tfbridge("verify", "--slot", "q1", "--no-runtime", cwd=tmp_path, timeout=QUICK)
    assert "FIFO" in assert_one_line_error(done, 2)


# ------------------------------------------------------------ structures Keras 2.9 cannot load


def test_duplicate_layer_names_are_named_once(tmp_path: Path) -> None:
    config = json.loads(h5py.File(GOOD, "r").attrs["model_config"])
    layers = config["config"]["layers"]
    config["config"]["layers"] = layers + [layers[-1]] * 20_000
    report = static_check(with_config(tmp_path, "many.h5", model_config=json.dumps(config)))
    assert report.static_load == "never"
    duplicated = [c for c in report.checks if "is used 20,001 times" in c.message]
    assert len(duplicated) == 1 and "All layer names should be unique" in duplicated[0].message


def test_weights_group_that_is_a_dataset_fails(tmp_path: Path) -> None:
    odd = tmp_path / "odd.h5"
    shutil.copy(GOOD, odd)
    with h5py.File(odd, "r+") as handle:
        del handle["model_weights"]
        handle["model_weights"] = np.zeros(3)
    report = static_check(odd)
    weights = [c for c in report.checks if c.id == "static.weights"]
    assert weights[0].status == "fail" and "is a dataset" in weights[0].message


def test_a_kernel_whose_shape_contradicts_its_config_fails(tmp_path: Path) -> None:
    odd = tmp_path / "odd.h5"
    shutil.copy(GOOD, odd)
    with h5py.File(odd, "r+") as handle:
        group = handle["model_weights"]
        layer = next(
            (n.decode() if isinstance(n, bytes) else n)
            for n in group.attrs["layer_names"]
            if len(group[n].attrs["weight_names"])
        )
        names = [
            w.decode() if isinstance(w, bytes) else w for w in group[layer].attrs["weight_names"]
        ]
        kernel = next(name for name in names if "kernel" in name)
        del group[layer][kernel]
        group[layer][kernel] = np.zeros((3, 999), dtype="float32")
    report = static_check(odd)
    assert report.static_load == "never"
    assert any("has shape [3, 999]" in c.message for c in report.checks if c.id == "static.weights")


def test_lambda_code_that_is_not_base64_fails(tmp_path: Path) -> None:
    report = static_check(lambda_with(tmp_path, "bad.h5", ["!!! not base64 ~~~", None, None]))
    assert report.static_load == "never"
    assert any("not valid base64" in c.message for c in report.checks if c.status == "fail")
    assert report.runs_code  # never loaded without --trust all the same


def test_a_file_name_that_is_not_utf8_is_printed_escaped(tmp_path: Path) -> None:
    name = os.fsdecode(b"model-\xff.h5")
    shutil.copy(GOOD, tmp_path / name)
    done = run_tfbridge("verify", tmp_path, "--no-runtime", timeout=QUICK)
    assert done.returncode == 0, done.stderr
    assert "model-\\xff.h5" in done.stdout


def test_a_missing_reference_interpreter_is_a_usage_error(good: Path, tmp_path: Path) -> None:
    done = run_tfbridge("verify", good, "--reference", tmp_path / "nowhere" / "python")
    assert "no Python interpreter at" in assert_one_line_error(done, 2)
