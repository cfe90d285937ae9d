"""Keras 3 tensor arithmetic in a functional model, converted to Keras 2.9's TFOpLambda form.

Keras 3 cannot load such an `.h5` itself ("too many positional arguments"), so no fingerprint can
be made from the file: the model is built and saved by real Keras 3 (the saver envs of
scripts/fixtures), which also records what the model in memory predicts on a fixed input; the
converted file must load in the real TF 2.9 with compile=True and predict the same at float32
precision.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.convert.runtimes import run_script, saver_python
from tfbridge.convert import ConversionRefused, convert
from tfbridge.verify import static_check

pytestmark = pytest.mark.runtime

BUILD = """
import json, sys
import numpy as np
import keras
from keras import layers, ops
keras.utils.set_random_seed(1)
i = keras.Input(shape=(4,)); j = keras.Input(shape=(4,))
a = layers.Dense(4)(i); b = layers.Dense(4)(j)
mean = ops.mean((((a + b) * 2.0 - 1.0) / 3.0), axis=-1, keepdims=True)
total = ops.sum(a - b, axis=-1, keepdims=True)
model = keras.Model([i, j], [mean, a * b, total, 2.0 * a, ops.divide(a, 4.0)])
model.compile(optimizer="adam", loss="mse")
model.save(sys.argv[1])
x = [np.random.RandomState(n).uniform(-1, 1, size=(8, 4)).astype("float32") for n in (1, 2)]
print(json.dumps({"inputs": [v.tolist() for v in x],
                  "outputs": [np.asarray(o).tolist() for o in model(x)]}))
"""
PREDICT = """
import json, sys
import numpy as np
import tensorflow as tf
model = tf.keras.models.load_model(sys.argv[1])  # compile=True, as the grader
inputs = [np.asarray(v, dtype="float32") for v in json.load(sys.stdin)]
print(json.dumps([np.asarray(o).tolist() for o in model(inputs, training=False)]))
"""


@pytest.mark.parametrize("saver", ["keras-3", "keras-3.6", "keras-3.10"])
def test_keras3_arithmetic_is_written_as_tf_op_layers_that_predict_the_same(
    saver: str, tmp_path: Path, exam_python: Path
) -> None:
    source = tmp_path / "arith.h5"
    saved = run_script(saver_python(saver), BUILD, str(source))
    report = convert(source, tmp_path / "q.h5", check_parity=False)
    written = " ".join(report.changes)
    for function in ("__operators__.add", "math.multiply", "math.subtract", "math.truediv"):
        assert f"TFOpLambda `tf.{function}`" in written
    assert "math.reduce_mean" in written and "math.reduce_sum" in written
    static = static_check(report.output)
    assert static.static_load == "compile", [c.message for c in static.checks]
    inputs = json.dumps(saved["inputs"])
    predicted = run_script(exam_python, PREDICT, str(report.output), stdin=inputs)
    for ours, theirs in zip(predicted, saved["outputs"], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def test_an_operation_with_a_number_first_that_does_not_commute_is_refused(
    tmp_path: Path,
) -> None:
    source = tmp_path / "rsub.h5"
    build = BUILD.replace("total = ops.sum(a - b", "total = ops.sum(1.0 - b")
    run_script(saver_python("keras-3"), build, str(source))
    with pytest.raises(ConversionRefused) as refused:
        convert(source, tmp_path / "q.h5", check_parity=False)
    assert "layer `subtract_1` is called with 2 positional inputs" in refused.value.message


SAVE_IN_29 = """
import sys
import tensorflow as tf
i = tf.keras.Input(shape=(4,)); j = tf.keras.Input(shape=(4,))
a = tf.keras.layers.Dense(4)(i); b = tf.keras.layers.Dense(4)(j)
out = tf.reduce_mean((a + b) * 2.0 / 3.0, axis=-1, keepdims=True)
model = tf.keras.Model([i, j], out)
model.compile(optimizer="adam", loss="mse")
model.save(sys.argv[1])
print("{}")
"""


def test_tf29s_own_arithmetic_passes_static_verify(tmp_path: Path, exam_python: Path) -> None:
    """TF 2.9 saves a TFOpLambda's node as one bare [layer, node, tensor, kwargs] entry."""
    model = tmp_path / "tf29_ops.h5"
    run_script(exam_python, SAVE_IN_29, str(model))
    static = static_check(model)
    failed = [check.message for check in static.checks if check.status == "fail"]
    assert static.static_load == "compile" and not failed, failed
