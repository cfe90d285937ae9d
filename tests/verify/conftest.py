"""Fixture models and their labels (what the real TF 2.9 did with each), shared by verify tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MODELS = FIXTURES / "models"


def fixture_labels() -> dict[str, dict[str, Any]]:
    data = json.loads((FIXTURES / "labels.json").read_text(encoding="utf-8"))
    labels: dict[str, dict[str, Any]] = data["fixtures"]
    return labels


@pytest.fixture(scope="session")
def labels() -> dict[str, dict[str, Any]]:
    return fixture_labels()
