"""Hostile inputs, made for real in a directory: broken files, special files, and HDF5 files
whose Keras metadata is wrong in every way we could think of.

Each builder takes an empty directory, makes one input in it and returns the path a command is
given. `CASES` lists them all; `Case.kind` says whether the input is broken at the file level
(commands refuse it before TensorFlow), broken inside a readable HDF5 file, or a real model that
must still be handled safely (a Lambda that must never run, a hostile file beside it).
"""

from __future__ import annotations

import base64
import json
import marshal
import os
import random
import shutil
import socket
import subprocess
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import h5py
import numpy as np

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "models"
GOOD_MODEL = REPO / "examples" / "mnist_dense.h5"
LAMBDA_MODEL = FIXTURES / "keras-2.9" / "timeseries_lambda.h5"
FUNCTIONAL_MODEL = FIXTURES / "keras-2.9" / "functional_multi_input.h5"
KERAS3_ZIP = FIXTURES / "keras-3" / "keras_zip.keras"
SAVED_MODEL = FIXTURES / "keras-3" / "saved_model"
PYTHON38 = Path.home() / ".pyenv" / "versions" / "3.8.18" / "bin" / "python"

# A Lambda payload writes this file beside the model if anything ever runs it.
MARKER_NAME = "HOSTILE_CODE_RAN"
FINGERPRINT_SUFFIX = ".fingerprint.json"

Kind = Literal["file", "not_model", "broken_model", "model"]
Builder = Callable[[Path], Path]


@dataclass(frozen=True)
class Case:
    """`kind`: "file" (no readable HDF5 inside: refused before TensorFlow); "not_model" (readable
    HDF5 whose model config describes no Keras model); "broken_model" (a model config, but the
    file does not load: bad training config, weights or Lambda code); "model" (a real model,
    hostile around it)."""

    name: str
    build: Builder
    kind: Kind
    # Root ignores file modes; this case runs the command without CAP_DAC_OVERRIDE.
    needs_unprivileged: bool = False
    # A readable regular file (else a FIFO, link loop, folder, ...: refused as a path, so a
    # command may refuse a whole batch that holds it).
    plain: bool = True
    # Named `*.h5`: what a slot in tfbridge.toml must name (else the whole config is refused).
    h5_named: bool = True
    # TF 2.9's own load_model never returns on it (measured): only a static refusal saves a
    # runtime check from waiting forever.
    hangs_tf: bool = False

    @property
    def is_model(self) -> bool:
        return self.kind == "model"


# ---- file-level inputs -------------------------------------------------------------------------


def _copy_good(directory: Path, name: str = "model.h5") -> Path:
    return Path(shutil.copyfile(GOOD_MODEL, directory / name))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def zero_byte(directory: Path) -> Path:
    return _write(directory / "model.h5", b"")


def _truncated_copy(directory: Path, length: int) -> Path:
    return _write(directory / "model.h5", GOOD_MODEL.read_bytes()[:length])


def truncated_header(directory: Path) -> Path:
    return _truncated_copy(directory, 48)  # inside the 96-byte HDF5 superblock


def truncated_metadata(directory: Path) -> Path:
    data = GOOD_MODEL.read_bytes()
    return _truncated_copy(directory, data.index(b'{"class_name"') + 200)


def truncated_weights(directory: Path) -> Path:
    with h5py.File(GOOD_MODEL, "r") as source:
        kernel = source["model_weights/dense/dense/kernel:0"]
        offset, size = kernel.id.get_offset(), kernel.id.get_storage_size()
    return _truncated_copy(directory, offset + size // 2)


def truncated_last_byte(directory: Path) -> Path:
    return _truncated_copy(directory, GOOD_MODEL.stat().st_size - 1)


def random_bytes(directory: Path) -> Path:
    return _write(directory / "model.h5", random.Random(7).randbytes(64 * 1024))


def hdf5_signature_then_junk(directory: Path) -> Path:
    junk = random.Random(8).randbytes(4096)
    return _write(directory / "model.h5", b"\x89HDF\r\n\x1a\n" + junk)


def text_file(directory: Path) -> Path:
    return _write(directory / "model.h5", b"this is not a model, just some notes\n")


def keras_zip(directory: Path) -> Path:
    return Path(shutil.copyfile(KERAS3_ZIP, directory / "model.keras"))


def keras_zip_named_h5(directory: Path) -> Path:
    return Path(shutil.copyfile(KERAS3_ZIP, directory / "model.h5"))


def junk_zip(directory: Path) -> Path:
    path = directory / "model.h5"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", b"\xff\xfe not json")
        archive.writestr("junk.bin", random.Random(9).randbytes(2048))
    return path


def saved_model_directory(directory: Path) -> Path:
    return Path(shutil.copytree(SAVED_MODEL, directory / "saved_model"))


def fifo(directory: Path) -> Path:
    path = directory / "x.h5"
    os.mkfifo(path)
    return path


def symlink_loop(directory: Path) -> Path:
    os.symlink("b.h5", directory / "a.h5")
    os.symlink("a.h5", directory / "b.h5")
    return directory / "a.h5"


def dangling_symlink(directory: Path) -> Path:
    os.symlink("gone.h5", directory / "m.h5")
    return directory / "m.h5"


def directory_named_h5(directory: Path) -> Path:
    path = directory / "m.h5"
    path.mkdir()
    (path / "notes.txt").write_text("a folder, not a model\n")
    return path


def unix_socket(directory: Path) -> Path:
    path = directory / "s.h5"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()  # the socket file stays; nobody listens
    return path


def symlink_to_device(directory: Path) -> Path:
    os.symlink("/dev/zero", directory / "zero.h5")
    return directory / "zero.h5"


def unreadable(directory: Path) -> Path:
    """Mode 000. Root reads it anyway, so the command runs without CAP_DAC_OVERRIDE."""
    path = _copy_good(directory)
    path.chmod(0)
    return path


# ---- readable HDF5 files that are not loadable Keras models -----------------------------------


def _with_attrs(directory: Path, **attrs: Any) -> Path:
    """A copy of the good model with root attributes replaced (None deletes one)."""
    path = _copy_good(directory)
    with h5py.File(path, "r+", libver="latest") as model:
        for name, value in attrs.items():
            if name in model.attrs:
                del model.attrs[name]
            if value is not None:
                model.attrs[name] = value
    return path


def _good_config() -> dict[str, Any]:
    with h5py.File(GOOD_MODEL, "r") as model:
        config: dict[str, Any] = json.loads(model.attrs["model_config"])
    return config


def _with_layers(directory: Path, layers: Any) -> Path:
    config = _good_config()
    config["config"]["layers"] = layers
    return _with_attrs(directory, model_config=json.dumps(config))


def huge_config_not_json(directory: Path) -> Path:
    return _with_attrs(directory, model_config="{" + "x" * (3 * 1024 * 1024))


def huge_layer_list(directory: Path) -> Path:
    """Several MB of model config: 8,000 layers where the weights hold two."""
    layers = _good_config()["config"]["layers"]
    return _with_layers(directory, layers + [layers[-1]] * 8_000)


def config_json_list(directory: Path) -> Path:
    return _with_attrs(directory, model_config="[1, 2, 3]")


def config_json_number(directory: Path) -> Path:
    return _with_attrs(directory, model_config="42")


def config_json_string(directory: Path) -> Path:
    return _with_attrs(directory, model_config='"Sequential"')


def config_json_null(directory: Path) -> Path:
    return _with_attrs(directory, model_config="null")


def config_not_json(directory: Path) -> Path:
    return _with_attrs(directory, model_config='{"class_name": "Sequential", "config": {')


def config_nested_10000_deep(directory: Path) -> Path:
    return _with_attrs(directory, model_config="[" * 10_000 + "]" * 10_000)


def config_nested_dicts_in_layer(directory: Path) -> Path:
    nested = '{"a": ' * 10_000 + "1" + "}" * 10_000
    text = json.dumps(_good_config()).replace('"data_format": "channels_last"', f'"x": {nested}')
    return _with_attrs(directory, model_config=text)


def config_not_utf8(directory: Path) -> Path:
    return _with_attrs(directory, model_config=np.bytes_(b'{"class_name": "\xff\xfe\xfa"}'))


def config_numeric_attribute(directory: Path) -> Path:
    return _with_attrs(directory, model_config=np.arange(5))


def config_missing(directory: Path) -> Path:
    return _with_attrs(directory, model_config=None)


def training_config_not_json(directory: Path) -> Path:
    return _with_attrs(directory, training_config='{"optimizer_config": ')


def training_config_list(directory: Path) -> Path:
    return _with_attrs(directory, training_config="[null, 1, []]")


def keras_version_garbage(directory: Path) -> Path:
    return _with_attrs(directory, keras_version=np.bytes_(b"\xff\x00not.a.version"))


def layers_not_a_list(directory: Path) -> Path:
    return _with_layers(directory, {"0": {"class_name": "Dense"}})


def layer_is_a_string(directory: Path) -> Path:
    return _with_layers(directory, ["Dense", "Flatten"])


def layer_config_null(directory: Path) -> Path:
    return _with_layers(directory, [{"class_name": "Dense", "config": None}])


def layer_class_name_number(directory: Path) -> Path:
    return _with_layers(directory, [{"class_name": 42, "config": {"name": 7, "units": "many"}}])


def unknown_model_class(directory: Path) -> Path:
    config = _good_config()
    config["class_name"] = "NotAModel"
    return _with_attrs(directory, model_config=json.dumps(config))


def _edit_hdf5(directory: Path, edit: Callable[[h5py.File], None]) -> Path:
    """A copy of the good model, changed by `edit` through h5py."""
    path = _copy_good(directory)
    with h5py.File(path, "r+") as model:
        edit(model)
    return path


def _replace(model: h5py.File, name: str, value: Any) -> None:
    del model[name]
    model[name] = value


KERNEL = "model_weights/dense/dense/kernel:0"


def _functional_with(directory: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """The Keras 2.9 two-input functional fixture, its config changed by `change`."""
    path = Path(shutil.copyfile(FUNCTIONAL_MODEL, directory / "functional.h5"))
    with h5py.File(path, "r+") as model:
        config = json.loads(model.attrs["model_config"])
        change(config["config"])
        model.attrs["model_config"] = json.dumps(config)
    return path


def _layer(config: dict[str, Any], name: str) -> dict[str, Any]:
    layer: dict[str, Any] = next(item for item in config["layers"] if item["name"] == name)
    return layer


def functional_cycle(directory: Path) -> Path:
    """dense takes concatenate's output, which takes dense's: a loop in the layer graph. TF 2.9's
    load_model spins on it forever (stopped after 120 s, measured 2026-12-02)."""

    def loop(config: dict[str, Any]) -> None:
        _layer(config, "dense")["inbound_nodes"] = [[["concatenate", 0, 0, {}]]]

    return _functional_with(directory, loop)


def functional_dangling_inbound(directory: Path) -> Path:
    def dangle(config: dict[str, Any]) -> None:
        _layer(config, "dense")["inbound_nodes"] = [[["no_such_layer", 7, 3, {}]]]

    return _functional_with(directory, dangle)


def functional_garbage_nodes(directory: Path) -> Path:
    def garbage(config: dict[str, Any]) -> None:
        _layer(config, "concatenate")["inbound_nodes"] = [["dense", "x"], 5, None]
        config["output_layers"] = "dense_1"

    return _functional_with(directory, garbage)


def _with_input_shape(directory: Path, shape: list[Any]) -> Path:
    config = _good_config()
    config["config"]["layers"][0]["config"]["batch_input_shape"] = shape
    return _with_attrs(directory, model_config=json.dumps(config))


def huge_input_shape(directory: Path) -> Path:
    """Probing this input would need terabytes: a runtime must refuse, not try."""
    return _with_input_shape(directory, [None, 1_000_000, 1_000_000])


def negative_input_shape(directory: Path) -> Path:
    return _with_input_shape(directory, [None, -28, 28])


def huge_dense_units(directory: Path) -> Path:
    """Building this Dense layer would allocate a 784 x 10^12 kernel."""
    config = _good_config()
    config["config"]["layers"][-1]["config"]["units"] = 10**12
    return _with_attrs(directory, model_config=json.dumps(config))


def nested_sequential_deep(directory: Path) -> Path:
    """Sequential in Sequential, 150 deep: deep for any recursive walk, legal JSON."""
    config = _good_config()
    inner: dict[str, Any] = config
    for depth in range(150):
        inner = {"class_name": "Sequential", "config": {"name": f"s{depth}", "layers": [inner]}}
    return _with_attrs(directory, model_config=json.dumps(inner))


def weights_group_missing(directory: Path) -> Path:
    return _edit_hdf5(directory, lambda model: model.__delitem__("model_weights"))


def weights_group_is_a_dataset(directory: Path) -> Path:
    return _edit_hdf5(directory, lambda model: _replace(model, "model_weights", np.zeros(3)))


def weight_names_dangling(directory: Path) -> Path:
    def dangle(model: h5py.File) -> None:
        model["model_weights/dense"].attrs["weight_names"] = [b"dense/nowhere:0", b"dense/bias:0"]

    return _edit_hdf5(directory, dangle)


def weight_soft_link_loop(directory: Path) -> Path:
    def loop(model: h5py.File) -> None:
        _replace(model, KERNEL, h5py.SoftLink("/model_weights/dense/dense/loop"))
        model["model_weights/dense/dense/loop"] = h5py.SoftLink("/" + KERNEL)

    return _edit_hdf5(directory, loop)


def weight_external_link(directory: Path) -> Path:
    link = h5py.ExternalLink("/nonexistent/elsewhere.h5", "/kernel")
    return _edit_hdf5(directory, lambda model: _replace(model, KERNEL, link))


def weight_shape_mismatch(directory: Path) -> Path:
    wrong = np.zeros((3, 2), dtype="float32")
    return _edit_hdf5(directory, lambda model: _replace(model, KERNEL, wrong))


def lambda_python311_marker(directory: Path) -> Path:
    """A Lambda whose bytecode (this Python's, 3.11+) writes the marker if ever run."""
    return _lambda_model(directory, _marshal_here(_marker_source(directory)))


def lambda_deep_marshal(directory: Path) -> Path:
    """A Lambda payload that is 100,000 nested one-element tuples: marshal's depth bomb."""
    payload = b")\x01" * 100_000 + b"N"
    return _lambda_model(directory, base64.b64encode(payload).decode("ascii"))


def lambda_not_base64(directory: Path) -> Path:
    return _lambda_model(directory, "!!! not base64 ~~~")


# ---- real models, hostile around them -----------------------------------------------------------


def lambda_python38_marker(directory: Path) -> Path:
    """A Lambda in Python 3.8 bytecode, loadable by the exam's TF 2.9, that writes the marker
    when run: only `--trust` may ever run it."""
    return _lambda_model(directory, _marshal_with(PYTHON38, _marker_source(directory)))


def _beside_good(directory: Path, write: Callable[[Path], None]) -> Path:
    model = _copy_good(directory)
    write(model.with_name(model.name + FINGERPRINT_SUFFIX))
    return model


def fingerprint_not_json(directory: Path) -> Path:
    return _beside_good(directory, lambda path: _write(path, b'{"schema": "tfbridge.fin'))


def fingerprint_not_utf8(directory: Path) -> Path:
    return _beside_good(directory, lambda path: _write(path, b"\xff\xfe\x00{}"))


def fingerprint_json_list(directory: Path) -> Path:
    return _beside_good(directory, lambda path: _write(path, b"[1, 2]"))


def fingerprint_wrong_fields(directory: Path) -> Path:
    wrong = {"schema": "tfbridge.fingerprint", "schema_version": 1, "model": 5, "outputs": "x"}
    return _beside_good(directory, lambda path: _write(path, json.dumps(wrong).encode()))


def fingerprint_truncated(directory: Path) -> Path:
    real = GOOD_MODEL.with_name(GOOD_MODEL.name + FINGERPRINT_SUFFIX).read_bytes()
    return _beside_good(directory, lambda path: _write(path, real[: len(real) // 2]))


def fingerprint_fifo(directory: Path) -> Path:
    return _beside_good(directory, os.mkfifo)


def fingerprint_directory(directory: Path) -> Path:
    return _beside_good(directory, lambda path: path.mkdir())


def fingerprint_symlink_loop(directory: Path) -> Path:
    return _beside_good(directory, lambda path: os.symlink(path.name, path))


def huge_model_config(directory: Path) -> Path:
    """A loadable model whose config carries 3 MB of notes (Keras 2.9 ignores unknown keys)."""
    config = _good_config()
    config["config"]["notes"] = "x" * (3 * 1024 * 1024)
    return _with_attrs(directory, model_config=json.dumps(config))


def name_not_utf8(directory: Path) -> Path:
    name = os.fsdecode(b"model-\xff\xfe.h5")
    return Path(shutil.copyfile(GOOD_MODEL, directory / name))


def name_with_newline(directory: Path) -> Path:
    return Path(shutil.copyfile(GOOD_MODEL, directory / "two\nlines.h5"))


# ---- Lambda payloads -----------------------------------------------------------------------------


def marker_path(directory: Path) -> Path:
    return directory / MARKER_NAME


def _marker_source(directory: Path) -> str:
    marker = str(marker_path(directory))
    return f"lambda x: (open({marker!r}, 'w').write('ran'), x)[1]"


def _marshal_here(source: str) -> str:
    code = compile(source, "<hostile>", "eval").co_consts[0]
    return base64.b64encode(marshal.dumps(code)).decode("ascii")


def _marshal_with(python: Path, source: str) -> str:
    """Keras 2's `func_dump` payload, made by another interpreter (the exam's Python 3.8)."""
    program = (
        "import base64, marshal, sys\n"
        "code = compile(sys.argv[1], '<hostile>', 'eval').co_consts[0]\n"
        "print(base64.b64encode(marshal.dumps(code)).decode('ascii'))\n"
    )
    done = subprocess.run(
        [str(python), "-c", program, source], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def _lambda_model(directory: Path, payload: str) -> Path:
    """The Keras 2.9 time-series fixture with its first Lambda's code replaced by `payload`."""
    path = Path(shutil.copyfile(LAMBDA_MODEL, directory / "lambda.h5"))
    with h5py.File(path, "r+") as model:
        config = json.loads(model.attrs["model_config"])
        lambdas = [layer for layer in config["config"]["layers"] if layer["class_name"] == "Lambda"]
        lambdas[0]["config"]["function"] = [payload, None, None]
        model.attrs["model_config"] = json.dumps(config)
    return path


CASES: tuple[Case, ...] = (
    Case("zero_byte", zero_byte, "file"),
    Case("truncated_header", truncated_header, "file"),
    Case("truncated_metadata", truncated_metadata, "file"),
    Case("truncated_weights", truncated_weights, "file"),
    Case("truncated_last_byte", truncated_last_byte, "file"),
    Case("random_bytes", random_bytes, "file"),
    Case("hdf5_signature_then_junk", hdf5_signature_then_junk, "file"),
    Case("text_file", text_file, "file"),
    Case("keras_zip", keras_zip, "file", h5_named=False),
    Case("keras_zip_named_h5", keras_zip_named_h5, "file"),
    Case("junk_zip", junk_zip, "file"),
    Case("saved_model_directory", saved_model_directory, "file", plain=False, h5_named=False),
    Case("fifo", fifo, "file", plain=False),
    Case("symlink_loop", symlink_loop, "file", plain=False),
    Case("dangling_symlink", dangling_symlink, "file", plain=False),
    Case("directory_named_h5", directory_named_h5, "file", plain=False),
    Case("unix_socket", unix_socket, "file", plain=False),
    Case("symlink_to_device", symlink_to_device, "file", plain=False),
    Case("unreadable", unreadable, "file", needs_unprivileged=True, plain=False),
    Case("huge_config_not_json", huge_config_not_json, "not_model"),
    Case("huge_layer_list", huge_layer_list, "broken_model"),
    Case("config_json_list", config_json_list, "not_model"),
    Case("config_json_number", config_json_number, "not_model"),
    Case("config_json_string", config_json_string, "not_model"),
    Case("config_json_null", config_json_null, "not_model"),
    Case("config_not_json", config_not_json, "not_model"),
    Case("config_nested_10000_deep", config_nested_10000_deep, "not_model"),
    Case("config_nested_dicts_in_layer", config_nested_dicts_in_layer, "not_model"),
    Case("config_not_utf8", config_not_utf8, "not_model"),
    Case("config_numeric_attribute", config_numeric_attribute, "not_model"),
    Case("config_missing", config_missing, "not_model"),
    Case("training_config_not_json", training_config_not_json, "broken_model"),
    Case("training_config_list", training_config_list, "broken_model"),
    Case("keras_version_garbage", keras_version_garbage, "broken_model"),
    Case("layers_not_a_list", layers_not_a_list, "not_model"),
    Case("layer_is_a_string", layer_is_a_string, "not_model"),
    Case("layer_config_null", layer_config_null, "not_model"),
    Case("layer_class_name_number", layer_class_name_number, "not_model"),
    Case("unknown_model_class", unknown_model_class, "not_model"),
    Case("functional_cycle", functional_cycle, "not_model", hangs_tf=True),
    Case("functional_dangling_inbound", functional_dangling_inbound, "not_model"),
    Case("functional_garbage_nodes", functional_garbage_nodes, "not_model"),
    Case("huge_input_shape", huge_input_shape, "broken_model"),
    Case("negative_input_shape", negative_input_shape, "not_model"),
    Case("huge_dense_units", huge_dense_units, "broken_model"),
    Case("nested_sequential_deep", nested_sequential_deep, "broken_model"),
    Case("weights_group_missing", weights_group_missing, "broken_model"),
    Case("weights_group_is_a_dataset", weights_group_is_a_dataset, "broken_model"),
    Case("weight_names_dangling", weight_names_dangling, "broken_model"),
    Case("weight_soft_link_loop", weight_soft_link_loop, "broken_model"),
    Case("weight_external_link", weight_external_link, "broken_model"),
    Case("weight_shape_mismatch", weight_shape_mismatch, "broken_model"),
    Case("lambda_python311_marker", lambda_python311_marker, "broken_model"),
    Case("lambda_deep_marshal", lambda_deep_marshal, "broken_model"),
    Case("lambda_not_base64", lambda_not_base64, "broken_model"),
    Case("lambda_python38_marker", lambda_python38_marker, "model"),
    Case("fingerprint_not_json", fingerprint_not_json, "model"),
    Case("fingerprint_not_utf8", fingerprint_not_utf8, "model"),
    Case("fingerprint_json_list", fingerprint_json_list, "model"),
    Case("fingerprint_wrong_fields", fingerprint_wrong_fields, "model"),
    Case("fingerprint_truncated", fingerprint_truncated, "model"),
    Case("fingerprint_fifo", fingerprint_fifo, "model"),
    Case("fingerprint_directory", fingerprint_directory, "model"),
    Case("fingerprint_symlink_loop", fingerprint_symlink_loop, "model"),
    Case("huge_model_config", huge_model_config, "model"),
    Case("name_not_utf8", name_not_utf8, "model"),
    Case("name_with_newline", name_with_newline, "model"),
)
CASES_BY_NAME = {case.name: case for case in CASES}
