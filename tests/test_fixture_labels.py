"""The committed fixtures are what labels.json says: re-labelled here with the real exam runtime."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import h5py
import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib  # type: ignore[import-not-found, no-redef, unused-ignore]

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
MODELS_ROOT = FIXTURES / "models"
LABELS_PATH = FIXTURES / "labels.json"
BREADTH = FIXTURES / "breadth"
LABEL_SCRIPT = REPO / "scripts" / "fixtures" / "label.py"
SAVERS_FILE = REPO / "scripts" / "fixtures" / "savers.toml"
MAX_TOTAL_BYTES = 5 * 1024 * 1024
MAX_ALL_SETS_BYTES = 8 * 1024 * 1024  # models, semantics, mixed precision and breadth together
# No model to run (weights only), or one even its saver cannot load without custom_objects.
NO_FINGERPRINT = {"weights-only", "custom-layer"}

MODEL_CATEGORIES = {
    "dense-regression",
    "cnn-classifier",
    "cnn-augmented",
    "nlp-lstm-binary",
    "nlp-gru-multiclass",
    "timeseries-conv1d",
    "timeseries-lambda",
    "functional-multi-input",
    "nested-sequential",
    "custom-layer",
    "lr-schedule",
    "normalization",
    "adamw",
    "ignore-class-loss",
    "uncompiled",
}
INPUT_CATEGORIES = {
    "weights-only",
    "keras-zip",
    "savedmodel",
    "not-hdf5",
    "empty",
    "truncated",
}


def committed() -> dict[str, dict[str, Any]]:
    fixtures: dict[str, dict[str, Any]] = json.loads(LABELS_PATH.read_text())["fixtures"]
    return fixtures


def savers_of(fixture_set: str) -> set[str]:
    """The savers that write this fixture set (savers.toml `sets`; "models" when not given)."""
    savers = tomllib.loads(SAVERS_FILE.read_text())["savers"]
    return {tag for tag, spec in savers.items() if fixture_set in spec.get("sets", ["models"])}


def saver_tags() -> set[str]:
    return savers_of("models")


@pytest.mark.runtime
@pytest.mark.parametrize("root", [MODELS_ROOT, BREADTH], ids=lambda root: root.name)
def test_exam_runtime_relabels_every_fixture_as_committed(exam_python: Path, root: Path) -> None:
    done = subprocess.run(
        [str(exam_python), str(LABEL_SCRIPT), str(root)],
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    relabelled = json.loads(done.stdout.strip().splitlines()[-1])
    labels = committed() if root == MODELS_ROOT else breadth_labels()
    expected = {rel: {"loads": e["loads"], "error": e["error"]} for rel, e in labels.items()}
    assert relabelled == expected


def test_every_saver_contributes_fixtures() -> None:
    savers = {entry["saver"] for entry in committed().values()}
    assert saver_tags() <= savers


def test_every_category_is_covered() -> None:
    categories = {entry["category"] for entry in committed().values()}
    assert categories >= MODEL_CATEGORIES | INPUT_CATEGORIES


def test_every_saver_writes_every_model_it_can() -> None:
    built: dict[str, set[str]] = {}
    for entry in committed().values():
        built.setdefault(entry["saver"], set()).add(entry["category"])
    gaps = json.loads(LABELS_PATH.read_text())["not_built"]
    unexplained = {
        (tag, category)
        for tag in saver_tags()
        for category in MODEL_CATEGORIES - built.get(tag, set())
        if not any(g["saver"] == tag and g["category"] == category for g in gaps)
    }
    assert unexplained == set()
    assert all(gap["status"] == "unavailable" for gap in gaps), gaps


def test_saver_metadata_matches_what_the_files_say() -> None:
    checked = 0
    for rel, entry in committed().items():
        path = MODELS_ROOT / rel
        if entry["saver"] is None or path.suffix != ".h5" or entry["category"] == "weights-only":
            continue
        with h5py.File(path, "r") as handle:
            written_by = handle.attrs["keras_version"]
            has_training_config = "training_config" in handle.attrs
        assert written_by == entry["keras_version"], rel
        assert has_training_config == entry["compiled"], rel
        checked += 1
    assert checked > 0


def test_fixtures_stay_small() -> None:
    total = sum(path.stat().st_size for path in MODELS_ROOT.rglob("*") if path.is_file())
    assert 0 < total < MAX_TOTAL_BYTES
    every_set = sum(path.stat().st_size for path in FIXTURES.rglob("*") if path.is_file())
    assert every_set < MAX_ALL_SETS_BYTES


def test_every_model_a_saver_can_run_has_a_current_fingerprint() -> None:
    from tfbridge.runtime.fingerprint import read_fingerprint

    needing = [
        rel
        for rel, entry in committed().items()
        if entry["saver"] is not None
        and rel.endswith(".h5")
        and entry["category"] not in NO_FINGERPRINT
    ]
    fingerprints = {rel: read_fingerprint(MODELS_ROOT / rel) for rel in needing}
    missing = sorted(rel for rel, found in fingerprints.items() if found is None)
    stale = sorted(rel for rel, found in fingerprints.items() if found and found.stale)
    assert (missing, stale) == ([], [])


def test_semantics_fixtures_come_from_exactly_the_savers_that_write_them() -> None:
    built = {path.name for path in (FIXTURES / "semantics").iterdir() if path.is_dir()}
    assert built == savers_of("semantics")


@pytest.mark.parametrize("tag", sorted(savers_of("semantics")))
def test_every_semantics_model_has_a_reference(tag: str) -> None:
    """A current fingerprint, or outputs recorded where that Keras cannot load its own file."""
    from tfbridge.runtime.fingerprint import read_fingerprint

    folder = FIXTURES / "semantics" / tag
    described = json.loads((folder / "semantics.json").read_text())["fixtures"]
    assert set(described) == {path.name for path in folder.glob("*.h5")}
    without = []
    for name, entry in described.items():
        fingerprint = read_fingerprint(folder / name)
        if "reference" not in entry and (fingerprint is None or fingerprint.stale):
            without.append(name)
    assert without == []


def test_mixed_precision_fixtures_come_from_exactly_the_savers_that_write_them() -> None:
    labels = json.loads((FIXTURES / "mixed_precision" / "labels.json").read_text())["fixtures"]
    assert {entry["saver"] for entry in labels.values()} == savers_of("mixed-precision")
    on_disk = {p.parent.name for p in (FIXTURES / "mixed_precision").glob("*/*.h5")}
    assert on_disk == savers_of("mixed-precision")


def breadth_labels() -> dict[str, dict[str, Any]]:
    labels: dict[str, dict[str, Any]] = json.loads((BREADTH / "labels.json").read_text())[
        "fixtures"
    ]
    return labels


def test_breadth_fixtures_come_from_exactly_the_savers_that_write_them() -> None:
    assert {entry["saver"] for entry in breadth_labels().values()} == savers_of("breadth")
    on_disk = {str(p.relative_to(BREADTH)) for p in BREADTH.glob("*/*.h5")}
    assert on_disk == set(breadth_labels())


def test_every_breadth_model_has_a_current_fingerprint() -> None:
    from tfbridge.runtime.fingerprint import read_fingerprint

    found = {rel: read_fingerprint(BREADTH / rel) for rel in breadth_labels()}
    assert sorted(rel for rel, f in found.items() if f is None or f.stale) == []


def test_breadth_covers_what_2_9_lacks_and_what_it_has() -> None:
    """The set means something only if TF 2.9 loads some, rejects some only at compile, and
    rejects some outright."""
    outcomes = {entry["loads"] for entry in breadth_labels().values()}
    assert outcomes == {"compile", "no-compile", "never"}
