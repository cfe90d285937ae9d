"""RuntimeWorker against the real exam runtime (Python 3.8, TensorFlow 2.9)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from tfbridge.errors import TfbridgeError
from tfbridge.inenv import list_devices
from tfbridge.runtime import RuntimeWorker

pytestmark = pytest.mark.runtime


def keras3_style_copy(model: Path, target: Path) -> Path:
    """The same model with the config a Keras 3 save writes for its input (`batch_shape`)."""
    shutil.copy(model, target)
    with h5py.File(target, "r+") as handle:
        config = json.loads(handle.attrs["model_config"])
        input_layer = config["config"]["layers"][0]["config"]
        input_layer["batch_shape"] = input_layer.pop("batch_input_shape")
        handle.attrs["model_config"] = json.dumps(config)
    return target


def test_info_reports_the_exam_runtime(exam_worker: RuntimeWorker) -> None:
    info = exam_worker.info()
    assert info.python_version.startswith("3.8.")
    assert info.tf_version == "2.9.0"
    assert info.keras_version == "2.9.0"
    assert "CPU" in {device.device_type for device in info.devices}


def test_list_devices_asks_that_environment(exam_python: Path) -> None:
    devices = list_devices(exam_python)
    assert any(d.device_type == "CPU" and d.name.endswith("CPU:0") for d in devices)


def test_load_compiled_model_as_the_grader_does(
    exam_worker: RuntimeWorker, exam_models: Path
) -> None:
    result = exam_worker.load(exam_models / "dense.h5", compile=True)
    assert result.ok
    assert result.error_type is None
    assert result.keras_version == "2.9.0"
    assert result.saved_by_keras == "2.9.0"


def test_keras3_config_is_reported_and_the_worker_serves_the_next_model(
    exam_worker: RuntimeWorker, models: Path
) -> None:
    broken = keras3_style_copy(models / "dense.h5", models / "keras3_style.h5")
    failed = exam_worker.load(broken)
    assert not failed.ok
    assert failed.error_type == "ValueError"
    assert "batch_shape" in (failed.error_message or "")
    assert exam_worker.load(models / "dense.h5").ok


def test_a_file_that_is_not_hdf5_is_a_load_failure(
    exam_worker: RuntimeWorker, tmp_path: Path
) -> None:
    fake = tmp_path / "notes.h5"
    fake.write_text("not a model\n")
    result = exam_worker.predict_probes(fake)
    assert not result.load.ok
    assert result.load.error_type == "OSError"
    assert result.outputs == []


def test_probes_are_identical_across_worker_processes(
    exam_worker: RuntimeWorker, exam_python: Path, exam_models: Path
) -> None:
    first = exam_worker.predict_probes(exam_models / "multi_io.h5")
    with RuntimeWorker(exam_python) as other:
        assert other.pid != exam_worker.pid
        second = other.predict_probes(exam_models / "multi_io.h5")
    assert first.ok and second.ok
    assert first.digest == second.digest
    assert first.output_names == second.output_names == ["score", "label"]
    assert [o.shape for o in first.outputs] == [(4, 1), (4, 2)]
    for a, b in zip(first.outputs, second.outputs, strict=True):
        np.testing.assert_array_equal(a, b)


def test_integer_ids_stay_inside_what_their_layer_accepts(
    exam_worker: RuntimeWorker, exam_models: Path
) -> None:
    # Embedding(7) on an int32 input: an id >= 7 would make TensorFlow raise, not predict.
    ints = exam_worker.predict_probes(exam_models / "int_embedding.h5")
    assert ints.ok, ints.error_message
    assert [(p.dtype, p.kind, p.high, p.shape) for p in ints.inputs] == [
        ("int32", "index", 7, (4, 6))
    ]
    # A Sequential starting with Embedding(50) takes float32 ids.
    floats = exam_worker.predict_probes(exam_models / "float_embedding.h5")
    assert floats.ok, floats.error_message
    assert [(p.dtype, p.kind, p.high) for p in floats.inputs] == [("float32", "index", 50)]
    # CategoryEncoding(num_tokens=4) rejects ids >= 4.
    categories = exam_worker.predict_probes(exam_models / "category_ids.h5")
    assert categories.ok, categories.error_message
    assert [(p.kind, p.high) for p in categories.inputs] == [("index", 4)]
    mixed = exam_worker.predict_probes(exam_models / "multi_io.h5")
    assert [(p.name, p.kind, p.high) for p in mixed.inputs] == [
        ("features", "uniform", None),
        ("tokens", "index", 9),
    ]


def test_string_inputs_get_fixed_strings(exam_worker: RuntimeWorker, exam_models: Path) -> None:
    result = exam_worker.predict_probes(exam_models / "string_input.h5")
    assert result.ok, result.error_message
    assert [(p.dtype, p.kind, p.shape) for p in result.inputs] == [("string", "string", (4, 1))]
    assert result.outputs[0].shape == (4, 2)
    assert np.isfinite(result.outputs[0]).all()


def test_a_model_that_prints_does_not_corrupt_the_protocol(
    exam_worker: RuntimeWorker, exam_models: Path
) -> None:
    # Its Lambda writes fake protocol lines to fd 1 and to sys.stdout when loaded and called.
    result = exam_worker.predict_probes(exam_models / "printing.h5")
    assert result.ok, result.error_message
    assert result.outputs[0].shape == (4, 2)
    assert exam_worker.info().tf_version == "2.9.0"
    assert '{"forged": true}' in exam_worker.stderr_tail()


def test_worker_death_is_reported_and_the_next_request_restarts_it(
    exam_python: Path, exam_models: Path
) -> None:
    with RuntimeWorker(exam_python) as worker:
        first_pid = worker.pid
        with pytest.raises(TfbridgeError, match=r"died while loading .*crashing\.h5.*exit code 7"):
            worker.load(exam_models / "crashing.h5")
        assert worker.load(exam_models / "dense.h5").ok
        assert worker.pid != first_pid


def test_a_hanging_model_times_out_and_the_worker_recovers(
    exam_python: Path, exam_models: Path
) -> None:
    with RuntimeWorker(exam_python) as worker:
        worker.timeout = 3
        with pytest.raises(TfbridgeError, match=r"timed out after 3 s while loading"):
            worker.load(exam_models / "hanging.h5")
        worker.timeout = 300
        assert worker.load(exam_models / "dense.h5").ok


def test_missing_interpreter_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TfbridgeError, match="no Python interpreter at") as error:
        RuntimeWorker(tmp_path / "bin" / "python").start()
    assert "tfbridge setup exam" in error.value.hint


def test_interpreter_without_tensorflow_is_one_clear_error() -> None:
    # This test process's own interpreter (the dev venv) has no TensorFlow.
    with pytest.raises(TfbridgeError, match="TensorFlow does not import in") as error:
        RuntimeWorker(Path(sys.executable)).start()
    assert "ModuleNotFoundError" in error.value.message


def test_missing_model_is_one_clear_error(exam_worker: RuntimeWorker, tmp_path: Path) -> None:
    with pytest.raises(TfbridgeError, match="no model file at"):
        exam_worker.load(tmp_path / "absent.h5")
