"""The in-env helpers (`tfbridge_keras`), run for real in the exam runtime and in TF 2.15."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy
import pytest

from tfbridge.runtime import RuntimeWorker, compare_with_fingerprint, read_fingerprint
from tfbridge.runtime.fingerprint import write_fingerprint
from tfbridge.train.preflight import HELPERS_DIR

COMMON = """
import json, sys, warnings
import numpy as np
import tensorflow as tf
from tfbridge_keras import ExamCheckpoint, exam_optimizer

x = np.random.RandomState(0).uniform(-1, 1, size=(64, 3)).astype("float32")
y = x.sum(axis=1, keepdims=True)

def small_model():
    return tf.keras.Sequential([tf.keras.layers.Dense(4, activation="relu", input_shape=(3,)),
                                tf.keras.layers.Dense(1)])

def error_of(call):
    try:
        call()
    except (ValueError, RuntimeError) as error:
        return str(error)
    return None
"""

IN_EXAM_RUNTIME = (
    COMMON
    + """
model = small_model()
model.compile(optimizer=exam_optimizer("adam", learning_rate=0.01), loss="mse")
checkpoint = ExamCheckpoint(sys.argv[1], verbose=0)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    model.fit(x, y, epochs=3, verbose=0, callbacks=[checkpoint])  # no validation data
print(json.dumps({
    "optimizer": type(model.optimizer).__module__,
    "monitor": checkpoint.monitor,
    "best_epoch": checkpoint.best_epoch,
    "warnings": [str(w.message) for w in caught if "ExamCheckpoint" in str(w.message)],
    "unknown_optimizer": error_of(lambda: exam_optimizer("adamw")),
    "not_h5": error_of(lambda: ExamCheckpoint("model.keras")),
    "maximizes_val_accuracy": ExamCheckpoint("a.h5", monitor="val_accuracy")._maximizes(),
    "maximizes_val_loss": ExamCheckpoint("a.h5")._maximizes(),
}))
"""
)

IN_KERAS_215 = (
    COMMON
    + """
model = small_model()
model.compile(optimizer=exam_optimizer("rmsprop", learning_rate=0.01), loss="mse")
model.fit(x, y, epochs=2, validation_split=0.25, verbose=0,
          callbacks=[ExamCheckpoint(sys.argv[1], verbose=0)])
new_style = small_model()
new_style.compile(optimizer=tf.keras.optimizers.Adam(), loss="mse")
refused = error_of(lambda: new_style.fit(x, y, epochs=1, verbose=0,
                                         callbacks=[ExamCheckpoint(sys.argv[1] + ".no.h5")]))
print(json.dumps({"optimizer": type(model.optimizer).__module__, "refused": refused}))
"""
)


def _run_helper_script(python: Path, code: str, tmp_path: Path, model: Path) -> dict[str, Any]:
    script = tmp_path / "script.py"
    script.write_text(code)
    done = subprocess.run(
        [str(python), str(script), str(model)],
        env={**os.environ, "PYTHONPATH": str(HELPERS_DIR), "TF_CPP_MIN_LOG_LEVEL": "2"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.runtime
def test_helpers_in_the_exam_runtime(exam_python: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.h5"
    result = _run_helper_script(exam_python, IN_EXAM_RUNTIME, tmp_path, model)

    assert result["optimizer"].startswith("keras.optimizers.optimizer_v2.")
    assert result["monitor"] == "loss"
    assert result["best_epoch"] == 3
    assert result["warnings"] == [
        "ExamCheckpoint: 'val_loss' is not logged (no validation data?); watching 'loss' instead"
    ]
    assert "unknown optimizer 'adamw'" in result["unknown_optimizer"]
    assert "the exam loads .h5 files" in result["not_h5"]
    assert result["maximizes_val_accuracy"] is True
    assert result["maximizes_val_loss"] is False
    assert not list(tmp_path.glob("*.partial"))

    # The helper's in-process fingerprint is the one tfbridge's runtime writes for the same file.
    ours = read_fingerprint(model)
    assert ours is not None and not ours.stale
    write_fingerprint(model, exam_python)
    theirs = read_fingerprint(model)
    assert theirs is not None
    assert (ours.digest, ours.inputs, ours.output_names) == (
        theirs.digest,
        theirs.inputs,
        theirs.output_names,
    )
    assert (ours.model_sha256, ours.saved_by_keras, ours.writer.tf_version) == (
        theirs.model_sha256,
        theirs.saved_by_keras,
        theirs.writer.tf_version,
    )
    for mine, reference in zip(ours.outputs, theirs.outputs, strict=True):
        numpy.testing.assert_allclose(mine, reference, rtol=1e-6, atol=1e-7)


@pytest.mark.runtime
def test_keras_215_model_saved_by_the_helpers_loads_in_the_exam_runtime(
    keras215_python: Path, exam_python: Path, tmp_path: Path
) -> None:
    model = tmp_path / "model.h5"
    result = _run_helper_script(keras215_python, IN_KERAS_215, tmp_path, model)

    assert ".optimizers.legacy." in result["optimizer"]
    assert "compile with tfbridge_keras.exam_optimizer('adam')" in result["refused"]
    assert not (tmp_path / "model.h5.no.h5").exists()
    fingerprint = read_fingerprint(model)
    assert fingerprint is not None
    assert fingerprint.writer.tf_version == "2.15.1"
    assert fingerprint.saved_by_keras == "2.15.0"
    with RuntimeWorker(exam_python) as exam:
        probes = exam.predict_probes(model, compile=True)
    assert probes.load.ok, probes.load.error
    parity = compare_with_fingerprint(probes, fingerprint)
    assert parity.ok, parity
