"""Hostile input to the real `tfbridge convert` CLI: every case ends in one error line with the
right exit code (or a clean success), never a traceback or a hang, and never leaves a file behind
or clobbers one.

Inputs are copies of a real Keras 3 fixture with one HDF5 attribute or config value altered with
h5py; outputs are real FIFOs, sockets, device nodes, directories and immutable folders.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from tests.conftest import FIXTURES, assert_one_line_error, run_tfbridge

SOURCE = FIXTURES / "models" / "keras-3" / "functional_multi_input.h5"
SEQUENTIAL = FIXTURES / "models" / "keras-3" / "dense_regression.h5"
TIMEOUT = 120  # seconds; a hang fails the test instead of blocking the suite
Json = dict[str, Any]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def convert_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return run_tfbridge("convert", *args, timeout=TIMEOUT)


def only_json_object(stdout: str) -> Json:
    """stdout holds exactly one JSON object (json.loads refuses trailing data)."""
    data = json.loads(stdout)
    assert isinstance(data, dict) and data["schema"] == 1, stdout
    return data


def with_attr(source: Path, folder: Path, name: str, value: str | bytes) -> Path:
    """A copy of `source` in `folder` whose HDF5 attribute `name` is set to `value`."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / "model.h5"
    shutil.copyfile(source, copy)
    with h5py.File(copy, "r+") as handle:
        handle.attrs[name] = value.encode("utf8") if isinstance(value, str) else value
    return copy


def with_config_edit(source: Path, folder: Path, edit: Callable[[Json], None]) -> Path:
    with h5py.File(source, "r") as handle:
        config = json.loads(handle.attrs["model_config"])
    edit(config)
    return with_attr(source, folder, "model_config", json.dumps(config))


def layer(config: Json, class_name: str) -> Json:
    found: Json = next(
        item for item in config["config"]["layers"] if item["class_name"] == class_name
    )
    return found


def assert_refused_cleanly(
    source: Path, out_dir: Path, code: int, *extra: str, expect: str = ""
) -> str:
    """Run convert on `source` into `out_dir`, with and without --json; check the aftermath."""
    before = sha256(source)
    entries = sorted(p.name for p in out_dir.iterdir())
    output = out_dir / "out.h5"
    line = assert_one_line_error(convert_cli(source, "-o", output, *extra), code=code)
    assert expect in line, line
    done = convert_cli(source, "-o", output, "--json", *extra)
    assert done.returncode == code, done.stderr
    error = only_json_object(done.stdout)["error"]
    assert error["exit_code"] == code and expect in error["message"] + error["hint"]
    assert sha256(source) == before, "convert modified its input"
    assert sorted(p.name for p in out_dir.iterdir()) == entries, "convert left files behind"
    return line


# -- the model config is not a Keras model config ---------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("[1, 2, 3]", "a list"),
        ("42", "a number"),
        ("null", "null"),
        ('"Sequential"', "a JSON string"),
        ('{"class_name": "Sequential"}', "without `class_name` and `config`"),
    ],
)
def test_model_config_that_is_not_a_model_config(tmp_path: Path, value: str, kind: str) -> None:
    source = with_attr(SOURCE, tmp_path / "in", "model_config", value)
    line = assert_refused_cleanly(source, tmp_path, 2, expect="not a Keras model config")
    assert kind in line


def test_model_config_nested_ten_thousand_deep(tmp_path: Path) -> None:
    deep = "[" * 10_000 + "]" * 10_000
    source = with_attr(SOURCE, tmp_path / "in", "model_config", deep)
    assert_refused_cleanly(source, tmp_path, 2, expect="model_config")


def test_model_config_nested_deeper_than_any_model_but_parseable(tmp_path: Path) -> None:
    def bury(config: Json) -> None:
        value: Any = "relu"
        for _ in range(400):
            value = {"class_name": "function", "config": value}
        layer(config, "Dense")["config"]["activation"] = value

    source = with_config_edit(SOURCE, tmp_path / "in", bury)
    assert_refused_cleanly(source, tmp_path, 2, expect="nests deeper than")


def test_model_config_not_json(tmp_path: Path) -> None:
    source = with_attr(SOURCE, tmp_path / "in", "model_config", "{not json")
    assert_refused_cleanly(source, tmp_path, 2, expect="not valid JSON")


@pytest.mark.parametrize("storage", ["variable-length", "fixed-length"])
def test_attribute_that_is_not_utf8(tmp_path: Path, storage: str) -> None:
    text = b'{"class_name": "Sequential", "config": {"name": "\xff\xfe"}}'
    source = with_attr(SOURCE, tmp_path / "in", "model_config", text)
    if storage == "fixed-length":
        with h5py.File(source, "r+") as handle:
            dtype = h5py.string_dtype("utf-8", len(text))
            handle.attrs.create("model_config", text, dtype=dtype)
    assert_refused_cleanly(source, tmp_path, 2, expect="`model_config` of / is not UTF-8")


def test_top_level_layer_is_not_a_model(tmp_path: Path) -> None:
    def dense_only(config: Json) -> None:
        config.update(layer(config, "Dense"))

    source = with_config_edit(SOURCE, tmp_path / "in", dense_only)
    assert_refused_cleanly(source, tmp_path, 2, expect="`Dense` layer, not a model")


# -- nested objects of the wrong type: refused naming the place --------------------------------


def _layers_not_a_list(config: Json) -> None:
    config["config"]["layers"] = {"dense": {}}


def _layer_not_an_object(config: Json) -> None:
    config["config"]["layers"][1] = "dense"


def _layer_config_not_an_object(config: Json) -> None:
    config["config"]["layers"][1]["config"] = ["units", 4]


def _inbound_nodes_not_a_list(config: Json) -> None:
    config["config"]["layers"][1]["inbound_nodes"] = "left"


def _keras_history_too_short(config: Json) -> None:
    node = config["config"]["layers"][1]["inbound_nodes"][0]
    node["args"][0]["config"]["keras_history"] = ["left"]


def _legacy_node_entry_malformed(config: Json) -> None:
    config["config"]["layers"][1]["inbound_nodes"] = [[["left", "zero", 0, {}]]]


def _call_kwargs_not_an_object(config: Json) -> None:
    config["config"]["layers"][1]["inbound_nodes"][0]["kwargs"] = [1]


def _class_name_not_a_string(config: Json) -> None:
    config["config"]["layers"][1]["class_name"] = ["Dense"]


@pytest.mark.parametrize(
    ("edit", "place"),
    [
        (_layers_not_a_list, "model_config.config.layers should be a list"),
        (_layer_not_an_object, "layers[1] should be a layer object but is a JSON string"),
        (_layer_config_not_an_object, "layers[1].config should be an object but is a list"),
        (_inbound_nodes_not_a_list, "layers[1].inbound_nodes should be a list"),
        (_keras_history_too_short, "keras_history"),
        (_legacy_node_entry_malformed, "inbound_nodes[0][0] should be a [layer, node"),
        (_call_kwargs_not_an_object, "inbound_nodes[0].kwargs should be an object"),
        (_class_name_not_a_string, "layers[1].class_name should be a string"),
    ],
    ids=lambda value: getattr(value, "__name__", "")[1:],
)
def test_malformed_nesting_is_refused_naming_the_place(
    tmp_path: Path, edit: Callable[[Json], None], place: str
) -> None:
    source = with_config_edit(SOURCE, tmp_path / "in", edit)
    assert_refused_cleanly(source, tmp_path, 2, expect=place)


def test_nested_layer_of_the_wrong_type(tmp_path: Path) -> None:
    def bad_wrapper(config: Json) -> None:
        config["config"]["layers"][1]["config"]["layer"] = 7

    source = with_config_edit(SOURCE, tmp_path / "in", bad_wrapper)
    assert_refused_cleanly(source, tmp_path, 2, expect="layers[1].config.layer should be")


# -- training config and weights -----------------------------------------------------------------


def test_training_config_not_json_is_refused_unless_dropped(tmp_path: Path) -> None:
    source = with_attr(SOURCE, tmp_path / "in", "training_config", "optimizer=adam")
    line = assert_refused_cleanly(source, tmp_path, 2, expect="training_config")
    assert "--drop-optimizer" in line
    done = convert_cli(source, "-o", tmp_path / "out.h5", "--drop-optimizer", "--no-parity")
    assert done.returncode == 0, done.stderr
    with h5py.File(tmp_path / "out.h5", "r") as handle:
        assert "training_config" not in handle.attrs


def test_optimizer_config_of_the_wrong_type(tmp_path: Path) -> None:
    with h5py.File(SOURCE, "r") as handle:
        training = json.loads(handle.attrs["training_config"])
    training["optimizer_config"]["config"] = ["adam"]
    source = with_attr(SOURCE, tmp_path / "in", "training_config", json.dumps(training))
    assert_refused_cleanly(source, tmp_path, 2, expect="optimizer_config.config should be")


def test_layer_names_listing_a_missing_group(tmp_path: Path) -> None:
    source = with_attr(SOURCE, tmp_path / "in", "model_config", _model_config_text(SOURCE))
    with h5py.File(source, "r+") as handle:
        del handle["model_weights"]["dense"]
    assert_refused_cleanly(source, tmp_path, 2, expect="no group for it")


def test_weight_names_listing_a_missing_dataset(tmp_path: Path) -> None:
    source = with_attr(SOURCE, tmp_path / "in", "model_config", _model_config_text(SOURCE))
    with h5py.File(source, "r+") as handle:
        group = handle["model_weights"]["dense"]
        names = [*group.attrs["weight_names"], "dense/ghost"]
        group.attrs.create("weight_names", names, dtype=h5py.string_dtype())
    assert_refused_cleanly(source, tmp_path, 2, expect="`dense/ghost`")


def _model_config_text(path: Path) -> str:
    with h5py.File(path, "r") as handle:
        value = handle.attrs["model_config"]
    return value.decode() if isinstance(value, bytes) else str(value)


# -- inputs and outputs that are not regular files ----------------------------------------------


def test_fifo_input_is_refused_without_opening_it(tmp_path: Path) -> None:
    fifo = tmp_path / "x.h5"
    os.mkfifo(fifo)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    line = assert_one_line_error(convert_cli(fifo, "-o", out_dir / "out.h5"))
    assert "FIFO" in line
    only_json_object(convert_cli(fifo, "--json").stdout)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "x.h5"]
    assert list(out_dir.iterdir()) == []


@contextmanager
def special_file(kind: str, path: Path) -> Iterator[Path]:
    if kind == "fifo":
        os.mkfifo(path)
        yield path
    elif kind == "socket":
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(path))
            yield path
    elif kind == "device":
        if os.geteuid() != 0:
            pytest.fail("device nodes need root; the CI machine runs the tests as root")
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a /dev/null of our own
        yield path
    else:
        path.mkdir()
        yield path


@pytest.mark.parametrize("kind", ["fifo", "socket", "device", "directory"])
def test_output_that_is_not_a_regular_file_is_never_replaced(tmp_path: Path, kind: str) -> None:
    with special_file(kind, tmp_path / "target.h5") as target:
        mode = target.lstat().st_mode
        line = assert_one_line_error(convert_cli(SOURCE, "-o", target))
        assert "refusing to write" in line and "not a regular file" in line
        assert target.lstat().st_mode == mode
        assert sorted(p.name for p in tmp_path.iterdir()) == ["target.h5"]


def test_fingerprint_target_that_is_not_a_regular_file_is_refused_before_writing(
    tmp_path: Path,
) -> None:
    source = tmp_path / "in" / "model.h5"
    source.parent.mkdir()
    shutil.copyfile(SOURCE, source)
    shutil.copyfile(f"{SOURCE}.fingerprint.json", f"{source}.fingerprint.json")
    (tmp_path / "out.h5.fingerprint.json").mkdir()
    line = assert_one_line_error(convert_cli(source, "-o", tmp_path / "out.h5"))
    assert "out.h5.fingerprint.json" in line and "directory" in line
    assert not (tmp_path / "out.h5").exists()


@contextmanager
def unwritable_folder(path: Path) -> Iterator[Path]:
    """A folder no one may create files in, root included (immutable; read-only for others)."""
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o555)
        yield path
        path.chmod(0o755)
        return
    subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_output_in_a_folder_that_refuses_writes(tmp_path: Path) -> None:
    with unwritable_folder(tmp_path / "locked") as locked:
        line = assert_one_line_error(convert_cli(SOURCE, "-o", locked / "out.h5"))
        assert "cannot write" in line and "permission denied" in line
        assert list(locked.iterdir()) == []


# -- temporary files and failures after writing -------------------------------------------------


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_temp_of_a_killed_convert_is_removed_and_a_live_ones_kept(tmp_path: Path) -> None:
    stale = tmp_path / f".out.h5.{dead_pid()}.tmp"
    stale.write_bytes(b"half-written by a convert killed with -9")
    # Another process that is alive for sure (not this one: the CLI may run in this process).
    live = tmp_path / f".out.h5.{os.getppid()}.tmp"
    live.write_bytes(b"being written right now by another convert")
    done = convert_cli(SEQUENTIAL, "-o", tmp_path / "out.h5", "--no-parity")
    assert done.returncode == 0, done.stderr
    assert not stale.exists() and live.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [live.name, "out.h5", "out.h5.fingerprint.json"]
    )


def test_unreadable_fingerprint_of_the_input_stops_before_writing(tmp_path: Path) -> None:
    source = tmp_path / "in" / "model.h5"
    source.parent.mkdir()
    shutil.copyfile(SOURCE, source)
    Path(f"{source}.fingerprint.json").write_text('{"schema": "tfbridge.fingerprint"}')
    assert_refused_cleanly(source, tmp_path, 2, expect="fingerprint")


def test_output_over_the_inputs_fingerprint_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "model.h5"
    shutil.copyfile(SOURCE, source)
    shutil.copyfile(f"{SOURCE}.fingerprint.json", f"{source}.fingerprint.json")
    before = sha256(Path(f"{source}.fingerprint.json"))
    line = assert_one_line_error(convert_cli(source, "-o", f"{source}.fingerprint.json"))
    assert "refusing to overwrite the input" in line
    assert sha256(Path(f"{source}.fingerprint.json")) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.h5", "model.h5.fingerprint.json"]


def test_an_existing_output_survives_a_refusal(tmp_path: Path) -> None:
    output = tmp_path / "out.h5"
    output.write_bytes(b"the user's previous model")
    source = with_attr(SOURCE, tmp_path / "in", "model_config", "[]")
    assert_one_line_error(convert_cli(source, "-o", output))
    assert output.read_bytes() == b"the user's previous model"


# -- --json: exactly one object for every outcome -------------------------------------------------


def test_json_refusal_carries_the_error_object(tmp_path: Path) -> None:
    source = FIXTURES / "models" / "keras-3" / "custom_layer.h5"
    done = convert_cli(source, "-o", tmp_path / "out.h5", "--json")
    assert done.returncode == 1
    refusal = only_json_object(done.stdout)
    assert refusal["converted"] is False and refusal["reasons"]
    assert refusal["error"]["exit_code"] == 1 and "cannot convert" in refusal["error"]["message"]
    assert_one_line_error(done, code=1)
    assert list(tmp_path.iterdir()) == []


def test_json_success_is_one_object(tmp_path: Path) -> None:
    done = convert_cli(SEQUENTIAL, "-o", tmp_path / "out.h5", "--json", "--no-parity")
    assert done.returncode == 0, done.stderr
    report = only_json_object(done.stdout)
    assert report["output"] == str(tmp_path / "out.h5") and report["converted"] is True
    assert report["parity"] == {"status": "unchecked", "detail": "not asked for (--no-parity)"}


# -- many damaged configs at once: a seeded sweep of wrong types in every place ---------------

SWEEP_SOURCES = [
    FIXTURES / "models" / name
    for name in (
        "keras-3/functional_multi_input.h5",
        "keras-3/nested_sequential.h5",
        "keras-3/nlp_lstm_binary.h5",
        "keras-3/lr_schedule.h5",
        "keras-2.15/cnn_augmented.h5",
        "tf-keras-2.17/functional_multi_input.h5",
    )
]
WRONG_VALUES: list[Any] = [None, 0, -1, 1.5, True, "", "x", [], [None], {}, [[1, 2, 3]]]
WRONG_VALUES += [{"class_name": None}, {"class_name": "Dense"}, ["a", "b", "c"], {"config": []}]


def json_places(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, (dict, list)):
        children = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in children:
            yield from json_places(child, (*path, key))


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    holder = value
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = new
    return value


def test_seeded_sweep_of_wrong_types_never_escapes_as_a_traceback(tmp_path: Path) -> None:
    from tfbridge.convert import convert
    from tfbridge.errors import TfbridgeError

    rng = random.Random(20261202)
    outcomes = {"converted": 0, "refused": 0}
    for _ in range(300):
        source = rng.choice(SWEEP_SOURCES)
        with h5py.File(source, "r") as handle:
            attr = rng.choice([a for a in ("model_config", "training_config") if a in handle.attrs])
            config = json.loads(handle.attrs[attr])
        for _ in range(rng.choice([1, 1, 2, 3])):
            place = rng.choice(list(json_places(config)))
            config = replaced(config, place, json.loads(json.dumps(rng.choice(WRONG_VALUES))))
        damaged = with_attr(source, tmp_path / "in", attr, json.dumps(config))
        try:
            convert(damaged, tmp_path / "out.h5", check_parity=False)
            outcomes["converted"] += 1
        except TfbridgeError as error:  # anything else fails the test with its traceback
            assert error.exit_code in (1, 2) and "\n" not in error.one_line()
            outcomes["refused"] += 1
    assert outcomes["refused"] > 100, outcomes


def test_kill_9_mid_write_leaves_a_temp_that_the_next_run_removes(tmp_path: Path) -> None:
    """A real convert of a ~64 MB model, killed with SIGKILL while it writes."""
    big = tmp_path / "in" / "big.h5"
    big.parent.mkdir()
    shutil.copyfile(SEQUENTIAL, big)
    with h5py.File(big, "r+") as handle:
        group = handle["model_weights"]["dense"]
        name = group.attrs["weight_names"][0]
        name = name.decode() if isinstance(name, bytes) else name
        shape = group[name].shape
        del group[name]
        group.create_dataset(name, shape=shape, dtype="float32")
        group.create_dataset("ballast", data=np.ones(16_000_000, dtype="float32"))
        group.attrs.create("weight_names", [name, "ballast"], dtype=h5py.string_dtype())
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    command = [sys.executable, "-m", "tfbridge", "convert", str(big), "-o", str(out_dir / "o.h5")]
    writer = subprocess.Popen([*command, "--no-parity"], stderr=subprocess.DEVNULL)
    temp = out_dir / f".o.h5.{writer.pid}.tmp"
    deadline = time.monotonic() + TIMEOUT
    while not temp.exists() and writer.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    writer.kill()
    writer.wait()
    assert temp.exists(), "the convert finished before it could be killed mid-write"
    assert not (out_dir / "o.h5").exists()
    done = convert_cli(big, "-o", out_dir / "o.h5", "--no-parity")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out_dir.iterdir()) == ["o.h5"]
    for large in (big, out_dir / "o.h5"):  # the disk is shared: free 128 MB at once
        large.unlink()
