"""Fingerprints written and checked with the real exam runtime; reading them needs no TensorFlow."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import h5py
import pytest

from tfbridge.errors import TfbridgeError
from tfbridge.fingerprinting import write_fingerprints
from tfbridge.runtime import (
    RuntimeWorker,
    compare_outputs,
    compare_with_fingerprint,
    fingerprint_path,
    read_fingerprint,
    write_fingerprint,
)

runtime = pytest.mark.runtime


def perturb_first_kernel(model: Path, delta: float = 0.05) -> None:
    with h5py.File(model, "r+") as handle:
        kernels: list[h5py.Dataset] = []
        handle["model_weights"].visititems(
            lambda name, item: kernels.append(item) if name.endswith("kernel:0") else None
        )
        kernels[0][...] = kernels[0][...] + delta


@runtime
def test_round_trip_records_the_model_and_its_writer(
    exam_worker: RuntimeWorker, exam_python: Path, models: Path
) -> None:
    model = models / "multi_io.h5"
    path = write_fingerprint(model, exam_python, worker=exam_worker)
    assert path == models / "multi_io.h5.fingerprint.json" == fingerprint_path(model)
    document = json.loads(path.read_text())
    assert document["schema"] == "tfbridge.fingerprint"
    assert document["model"]["sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    assert document["model"]["size"] == model.stat().st_size
    assert document["writer"]["tf_version"] == "2.9.0"

    fingerprint = read_fingerprint(model)
    assert fingerprint is not None
    assert not fingerprint.stale
    assert fingerprint.saved_by_keras == fingerprint.loaded_with_keras == "2.9.0"
    assert fingerprint.writer.python_version.startswith("3.8.")
    assert [i.kind for i in fingerprint.inputs] == ["uniform", "index"]
    assert fingerprint.output_names == ["score", "label"]

    # The grader's way: compile=True, in a fresh look at the same file.
    parity = compare_with_fingerprint(exam_worker.predict_probes(model), fingerprint)
    assert parity.ok, parity.message
    assert parity.max_abs == 0.0


@runtime
def test_perturbed_weights_fail_parity(
    exam_worker: RuntimeWorker, exam_python: Path, models: Path
) -> None:
    model = models / "dense.h5"
    write_fingerprint(model, exam_python, worker=exam_worker)
    reference = read_fingerprint(model)
    assert reference is not None
    perturb_first_kernel(model)
    parity = compare_outputs(exam_worker.predict_probes(model).outputs, reference.outputs)
    assert not parity.ok
    assert parity.max_abs > parity.atol
    assert "differ" in parity.message


@runtime
def test_changed_model_makes_its_fingerprint_stale(
    exam_worker: RuntimeWorker, exam_python: Path, models: Path
) -> None:
    model = models / "float_embedding.h5"
    write_fingerprint(model, exam_python, worker=exam_worker)
    perturb_first_kernel(model)
    fingerprint = read_fingerprint(model)
    assert fingerprint is not None
    assert fingerprint.stale
    assert "changed" in fingerprint.stale_reason
    parity = compare_with_fingerprint(exam_worker.predict_probes(model), fingerprint)
    assert not parity.ok
    assert parity.message.startswith("the fingerprint is stale")


@runtime
def test_many_models_one_worker_and_failures_do_not_stop_the_rest(
    exam_python: Path, models: Path
) -> None:
    (models / "notes.h5").write_text("not a model\n")
    chosen = [models / "dense.h5", models / "notes.h5", models / "string_input.h5"]
    seen: list[Path] = []
    outcomes = write_fingerprints(chosen, exam_python, progress=seen.append)
    assert seen == chosen
    assert [o.ok for o in outcomes] == [True, False, True]
    assert "notes.h5 does not load" in (outcomes[1].error or "")
    assert not fingerprint_path(models / "notes.h5").exists()
    string_fingerprint = read_fingerprint(models / "string_input.h5")
    assert string_fingerprint is not None
    assert string_fingerprint.inputs[0].kind == "string"


def test_no_fingerprint_reads_as_none(tmp_path: Path) -> None:
    model = tmp_path / "model.h5"
    model.write_bytes(b"\x89HDF")
    assert read_fingerprint(model) is None


def test_corrupt_fingerprint_is_one_clear_error(tmp_path: Path) -> None:
    model = tmp_path / "model.h5"
    model.write_bytes(b"\x89HDF")
    fingerprint_path(model).write_text("{ not json")
    with pytest.raises(TfbridgeError, match="cannot read fingerprint") as error:
        read_fingerprint(model)
    assert "tfbridge fingerprint" in error.value.hint


def test_foreign_json_is_not_taken_for_a_fingerprint(tmp_path: Path) -> None:
    model = tmp_path / "model.h5"
    model.write_bytes(b"\x89HDF")
    fingerprint_path(model).write_text('{"outputs": []}')
    with pytest.raises(TfbridgeError, match="not a tfbridge fingerprint"):
        read_fingerprint(model)
