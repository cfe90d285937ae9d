"""Static verify equals the real TF 2.9 on the breadth fixtures (tests/fixtures/breadth: every
optimizer and schedule, regularizers, constraints, residual and shared layers, multi-output,
attention, preprocessing; saved by TF 2.9.3, Keras 2.13 and Keras 3.10, labelled by TF 2.9)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.verify.conftest import FIXTURES
from tfbridge.verify import static_check

BREADTH = FIXTURES / "breadth"
LABELS: dict[str, dict[str, Any]] = json.loads((BREADTH / "labels.json").read_text())["fixtures"]


@pytest.mark.parametrize("rel", sorted(LABELS))
def test_static_prediction_equals_real_tf29(rel: str) -> None:
    report = static_check(BREADTH / rel)
    failed = [c.message for c in report.checks if c.status == "fail"]
    assert report.static_load == LABELS[rel]["loads"], (LABELS[rel]["error"], failed)


def test_static_never_passes_what_tf29_fails() -> None:
    false_passes = [
        rel
        for rel, label in LABELS.items()
        if label["loads"] != "compile" and static_check(BREADTH / rel).static_load == "compile"
    ]
    assert false_passes == []
