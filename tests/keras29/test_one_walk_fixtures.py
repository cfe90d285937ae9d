"""Verify and convert go through every real fixture by the one walk, so they cannot disagree about
where a saved config keeps its objects: both visit the same places. Attributes read with h5py
(the static reader), no TensorFlow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES
from tfbridge.convert.layers import ConfigRewriter
from tfbridge.convert.report import Notes
from tfbridge.convert.semantics_gate import SemanticsGate
from tfbridge.convert.training import TrainingConfigRewriter
from tfbridge.keras29.knowledge import load_knowledge
from tfbridge.keras29.rules import load_rules
from tfbridge.keras29.visitor import Visitor
from tfbridge.keras29.walk import Walk
from tfbridge.verify.findings import Problems, Writer
from tfbridge.verify.h5file import SavedFile, read_saved_file
from tfbridge.verify.model_config import ModelConfigEmulator
from tfbridge.verify.training_config import TrainingConfigEmulator

MODEL_FILES = sorted(
    path for path in FIXTURES.rglob("*.h5") if read_saved_file(path).kind == "model_h5"
)
Places = set[tuple[str, str]]


def visited(visitor: Visitor, config: Any, part: str) -> Places:
    walk = Walk(visitor)
    if part == "model":
        walk.model(config)
    else:
        walk.training(config)
    return {(place.kind, place.path) for place in walk.places}


def verify_places(saved: SavedFile) -> tuple[Places, Places]:
    knowledge, writer, problems = load_knowledge(), Writer(saved.keras_version), Problems()
    model = visited(ModelConfigEmulator(knowledge, writer, problems), saved.model_config, "model")
    emulator = TrainingConfigEmulator(knowledge, writer, problems)
    return model, visited(emulator, saved.training_config, "training")


def convert_places(saved: SavedFile) -> tuple[Places, Places]:
    rules, notes = load_rules(), Notes()
    gate = SemanticsGate(saved.keras_version, notes)
    model = visited(ConfigRewriter(rules, notes, gate), saved.model_config, "model")
    rewriter = TrainingConfigRewriter(rules, notes, gate)
    return model, visited(rewriter, saved.training_config, "training")


def test_there_are_fixtures_of_every_saver_to_walk() -> None:
    savers = {path.relative_to(FIXTURES).parts[1] for path in MODEL_FILES}
    assert {"keras-2.9", "keras-2.13", "keras-3"} <= savers, savers


@pytest.mark.parametrize(
    "path", MODEL_FILES, ids=[str(path.relative_to(FIXTURES)) for path in MODEL_FILES]
)
def test_verify_and_convert_visit_the_same_places(path: Path) -> None:
    saved = read_saved_file(path)
    verify_model, verify_training = verify_places(saved)
    convert_model, convert_training = convert_places(saved)
    assert ("layer", "model_config") in verify_model
    assert verify_model == convert_model
    assert verify_training == convert_training
    if saved.training_config is not None:
        assert ("optimizer", "training_config.optimizer_config") in verify_training
