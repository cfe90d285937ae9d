"""The knowledge file is exactly what the generator writes from the real Keras 2.9."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tfbridge.keras29.knowledge import KNOWLEDGE_FILE, load_knowledge

REPO = Path(__file__).resolve().parents[2]
GENERATOR = REPO / "scripts" / "in_runtime" / "gen_keras29_knowledge.py"


@pytest.mark.runtime
def test_knowledge_file_has_not_drifted(exam_python: Path) -> None:
    done = subprocess.run(
        [str(exam_python), str(GENERATOR)], capture_output=True, text=True, check=True, timeout=600
    )
    assert done.stdout == KNOWLEDGE_FILE.read_text(encoding="utf-8"), (
        "regenerate: python scripts/in_runtime/gen_keras29_knowledge.py > " + str(KNOWLEDGE_FILE)
    )


def test_knowledge_knows_what_fails_newer_models() -> None:
    knowledge = load_knowledge()
    assert knowledge.keras_version == "2.9.0"
    input_layer = knowledge.resolve("layer", "InputLayer")
    assert input_layer is not None
    assert input_layer.unknown_args(
        {"batch_input_shape": [None, 1], "batch_shape": [None, 1], "optional": False}
    ) == ["batch_shape", "optional"]
    adam = knowledge.resolve("optimizer", "Adam")
    assert adam is not None and "weight_decay" not in adam.args
    assert knowledge.resolve("optimizer", "Custom>Adam") is not None  # 2.9's experimental Adam
    assert knowledge.resolve("layer", "ScaleLayer") is None
