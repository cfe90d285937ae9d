"""What `tfbridge convert` writes and reports, read back with h5py (no TensorFlow needed).

Inputs are the real fixtures saved by Keras 3 / 2.15, or copies of them with one config value
edited the way a newer Keras would write it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from tests.conftest import assert_one_line_error, run_tfbridge
from tfbridge.convert import ConversionRefused, ConversionReport, default_output
from tfbridge.convert import convert as convert_model
from tfbridge.errors import TfbridgeError

MODELS = Path(__file__).resolve().parents[1] / "fixtures" / "models"
KERAS3 = MODELS / "keras-3"
Json = dict[str, Any]


def convert(source: Path, output: Path | None = None, **options: Any) -> ConversionReport:
    """These tests read the output with h5py: the exam-runtime parity check is tested elsewhere
    (test_convert_semantics.py), so it is left out here to keep TensorFlow out of them."""
    return convert_model(source, output, check_parity=False, **options)


def attr_json(path: Path, name: str) -> Any:
    with h5py.File(path, "r") as handle:
        value = handle.attrs.get(name)
    return None if value is None else json.loads(value)


def edited_copy(source: Path, tmp_path: Path, attr: str, edit: Callable[[Json], None]) -> Path:
    copy = tmp_path / source.name
    shutil.copyfile(source, copy)
    with h5py.File(copy, "r+") as handle:
        config = json.loads(handle.attrs[attr])
        edit(config)
        handle.attrs[attr] = json.dumps(config).encode("utf8")
    return copy


def walk(value: Any) -> list[Any]:
    """Every dict and list nested in a config."""
    found = [value]
    children = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    )
    for child in children:
        found.extend(walk(child))
    return found


def text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def layer_datasets(path: Path) -> list[tuple[str, str, np.ndarray]]:
    """(layer, weight name, data) in the order Keras 2.9's loader reads them."""
    out = []
    with h5py.File(path, "r") as handle:
        group = handle["model_weights"]
        for layer in map(text, group.attrs["layer_names"]):
            for name in map(text, group[layer].attrs["weight_names"]):
                out.append((layer, name, group[layer][name][()]))
    return out


def test_keras3_config_is_rewritten_into_the_29_dialect(tmp_path: Path) -> None:
    source = KERAS3 / "nested_sequential.h5"
    report = convert(source, tmp_path / "out.h5")
    config = attr_json(report.output, "model_config")
    nodes = walk(config)
    keys = {key for node in nodes if isinstance(node, dict) for key in node}
    assert not keys & {"batch_shape", "module", "registered_name", "build_config", "optional"}
    assert "batch_input_shape" in keys
    dtypes = [node["dtype"] for node in nodes if isinstance(node, dict) and "dtype" in node]
    assert dtypes and all(isinstance(dtype, str) for dtype in dtypes)
    for layer in config["config"]["layers"]:
        for call in layer["inbound_nodes"]:
            assert isinstance(call, list)
            assert all(isinstance(entry, list) and len(entry) == 4 for entry in call), call
    assert any("inbound nodes" in change for change in report.changes)


def test_weights_keep_order_and_bytes_under_29_names(tmp_path: Path) -> None:
    source = KERAS3 / "nlp_lstm_binary.h5"
    output = convert(source, tmp_path / "out.h5").output
    before, after = layer_datasets(source), layer_datasets(output)
    assert [layer for layer, _, _ in before] == [layer for layer, _, _ in after]
    for (_, _, old), (layer, name, new) in zip(before, after, strict=True):
        assert name.startswith(layer + "/") and name.endswith(":0"), name
        assert old.dtype == new.dtype and np.array_equal(old, new)
    with h5py.File(output, "r") as handle:
        assert text(handle.attrs["keras_version"]) == "2.9.0"
        assert "optimizer_weights" not in handle  # Keras 3 optimizer state has no 2.9 layout


def test_adamw_becomes_29s_experimental_adamw_with_its_weight_decay(tmp_path: Path) -> None:
    source = KERAS3 / "adamw.h5"
    original = attr_json(source, "training_config")["optimizer_config"]["config"]
    report = convert(source, tmp_path / "out.h5")
    optimizer = attr_json(report.output, "training_config")["optimizer_config"]
    assert optimizer["class_name"] == "Custom>AdamW"
    assert optimizer["config"]["weight_decay"] == original["weight_decay"]
    assert optimizer["config"]["learning_rate"] == pytest.approx(original["learning_rate"])
    assert any("Custom>AdamW" in change for change in report.changes)


def test_dropped_loss_argument_is_reported_as_affecting_training(tmp_path: Path) -> None:
    report = convert(KERAS3 / "ignore_class_loss.h5", tmp_path / "out.h5")
    ignore = [item for item in report.dropped if item.name == "ignore_class"]
    assert len(ignore) == 1 and ignore[0].effect == "training" and ignore[0].value is not None
    assert ignore[0] in report.lossy


def test_drop_optimizer_writes_no_training_config(tmp_path: Path) -> None:
    report = convert(KERAS3 / "cnn_classifier.h5", tmp_path / "out.h5", drop_optimizer=True)
    assert attr_json(report.output, "training_config") is None
    assert any("--drop-optimizer" in change for change in report.changes)


def test_optimizer_without_29_equivalent_is_refused_unless_dropped(tmp_path: Path) -> None:
    def to_lion(config: Json) -> None:
        config["optimizer_config"]["class_name"] = "Lion"

    source = edited_copy(KERAS3 / "dense_regression.h5", tmp_path, "training_config", to_lion)
    with pytest.raises(ConversionRefused) as refused:
        convert(source, tmp_path / "out.h5")
    assert "`Lion`" in refused.value.message and "--drop-optimizer" in refused.value.hint
    assert not (tmp_path / "out.h5").exists()
    assert convert(source, tmp_path / "out.h5", drop_optimizer=True).output.exists()


def test_argument_that_changes_predictions_is_refused(tmp_path: Path) -> None:
    def invert(config: Json) -> None:
        for layer in config["config"]["layers"]:
            if layer["class_name"] == "Normalization":
                layer["config"]["invert"] = True

    source = edited_copy(KERAS3 / "normalization.h5", tmp_path, "model_config", invert)
    with pytest.raises(ConversionRefused) as refused:
        convert(source, tmp_path / "out.h5")
    assert "(Normalization) sets `invert=True`" in refused.value.message


def test_schedule_setting_29_lacks_is_refused(tmp_path: Path) -> None:
    def warmup(config: Json) -> None:
        config["optimizer_config"]["config"]["learning_rate"] = {
            "module": "keras.optimizers.schedules",
            "class_name": "CosineDecay",
            "config": {"initial_learning_rate": 0.1, "decay_steps": 10, "warmup_target": 0.5},
            "registered_name": None,
        }

    source = edited_copy(KERAS3 / "dense_regression.h5", tmp_path, "training_config", warmup)
    with pytest.raises(ConversionRefused) as refused:
        convert(source, tmp_path / "out.h5")
    assert "`CosineDecay` sets `warmup_target=0.5`" in refused.value.message


def test_refusal_leaves_an_existing_output_untouched(tmp_path: Path) -> None:
    output = tmp_path / "out.h5"
    output.write_bytes(b"previous conversion")
    with pytest.raises(ConversionRefused):
        convert(KERAS3 / "custom_layer.h5", output)
    assert output.read_bytes() == b"previous conversion"


def test_default_output_sits_beside_the_input(tmp_path: Path) -> None:
    source = tmp_path / "model.h5"
    shutil.copyfile(KERAS3 / "dense_regression.h5", source)
    assert default_output(source) == tmp_path / "model.tf29.h5"
    assert convert(source).output == tmp_path / "model.tf29.h5"
    with pytest.raises(TfbridgeError, match="refusing to overwrite"):
        convert(source, source)


@pytest.mark.parametrize("saver", sorted(p.name for p in MODELS.iterdir() if p.name != "broken"))
def test_converted_outputs_pass_static_verify(saver: str, tmp_path: Path) -> None:
    from tfbridge.verify import static_check

    converted = 0
    for source in sorted((MODELS / saver).glob("*.h5")):
        try:
            report = convert(source, tmp_path / source.name)
        except TfbridgeError:
            continue  # refusals and non-models are covered by test_convert_fixtures
        verdict = static_check(report.output)
        failures = [check.message for check in verdict.checks if check.status == "fail"]
        assert verdict.verdict != "fail", f"{saver}/{source.name}: {failures}"
        converted += 1
    assert converted >= 5


def test_cli_json_report(tmp_path: Path) -> None:
    output = tmp_path / "out.h5"
    done = run_tfbridge("convert", KERAS3 / "adamw.h5", "-o", output, "--json", "--no-parity")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["output"] == str(output) and report["source_keras_version"].startswith("3.")
    assert report["changes"] and {"where", "name", "value", "effect"} <= set(report["dropped"][0])


def test_cli_refusal_is_one_line_and_exit_1(tmp_path: Path) -> None:
    done = run_tfbridge("convert", KERAS3 / "timeseries_lambda.h5", "-o", tmp_path / "o.h5")
    line = assert_one_line_error(done, code=1)
    assert "Lambda" in line and "metal" in line
    done = run_tfbridge("convert", KERAS3 / "custom_layer.h5", "-o", tmp_path / "o.h5", "--json")
    assert done.returncode == 1
    refusal = json.loads(done.stdout)
    assert refusal["converted"] is False and "scale_layer" in refusal["reasons"][0]


def test_cli_unreadable_input_is_exit_2(tmp_path: Path) -> None:
    line = assert_one_line_error(run_tfbridge("convert", MODELS / "broken" / "truncated.h5"))
    assert "truncated.h5" in line


def test_importing_convert_loads_no_numpy_or_h5py() -> None:
    import subprocess
    import sys

    probe = "import sys, tfbridge.convert; print(sorted({'numpy', 'h5py'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
