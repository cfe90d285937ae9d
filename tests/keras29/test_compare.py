"""The comparer's rules on small dumps: what counts as a change, a rename, an added argument."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SEMANTICS_SCRIPTS = Path(__file__).resolve().parents[2] / "scripts" / "semantics"


@pytest.fixture(scope="module")
def compare() -> Iterator[ModuleType]:
    sys.path.insert(0, str(SEMANTICS_SCRIPTS))
    try:
        import compare
    finally:
        sys.path.remove(str(SEMANTICS_SCRIPTS))
    yield compare


def probe(values: list[float], **extra: Any) -> dict[str, Any]:
    return {"input": "r2", "shape": [len(values)], "values": values, **extra}


def entry(config: dict[str, Any], probes: dict[str, Any]) -> dict[str, Any]:
    return {"config": config, "signature": dict(config), "probes": probes}


def test_outputs_beyond_the_tolerance_are_a_computation_change(compare: ModuleType) -> None:
    base = entry({"units": 2}, {"default": probe([0.0, 1.0])})
    moved = entry({"units": 2}, {"default": probe([0.0, 1.1])})
    change = compare.builtin_change("layer", "Dense", base, moved, {}, {})
    assert change["computation"]["probes"] == {"default": pytest.approx(0.1)}
    rounding = entry({"units": 2}, {"default": probe([0.0, 1.0 + 1e-7])})
    assert compare.builtin_change("layer", "Dense", base, rounding, {}, {}) == {}


def test_another_output_shape_is_a_change_and_a_failed_probe_is_not_compared(
    compare: ModuleType,
) -> None:
    base = entry({}, {"default": probe([0.0, 1.0])})
    wider = entry({}, {"default": probe([0.0, 1.0, 2.0])})
    change = compare.builtin_change("layer", "RandomCrop", base, wider, {}, {})
    assert "output shape" in change["computation"]["probes"]["default"]
    failed = entry({}, {"default": {"error": "ValueError: no"}})
    change = compare.builtin_change("layer", "RandomCrop", base, failed, {}, {})
    assert change["computation"] == {"not_compared": "ValueError: no"}


def test_a_rename_needs_equal_outputs_under_the_new_name(compare: ModuleType) -> None:
    label = "rename:alpha->negative_slope=0.1"
    default = probe([1.0, -0.3])
    base = entry({"alpha": 0.3}, {"default": default, label: probe([1.0, -0.1], argument="alpha")})
    same = entry(
        {"negative_slope": 0.3},
        {"default": default, label: probe([1.0, -0.1], argument="negative_slope")},
    )
    assert compare.builtin_change("layer", "LeakyReLU", base, same, {}, {}) == {
        "renamed": {"negative_slope": "alpha"}
    }
    other = entry({"negative_slope": 0.3}, {label: probe([1.0, -0.5], argument="negative_slope")})
    change = compare.builtin_change("layer", "LeakyReLU", base, other, {}, {})
    assert change["added"] == {"negative_slope": 0.3} and change["removed"] == ["alpha"]


def test_added_means_what_2_9_was_not_seen_to_take(compare: ModuleType) -> None:
    base = entry({"units": 2}, {})
    newer = entry({"units": 2, "zero_output_for_mask": False, "use_cudnn": "auto"}, {})
    lines = {"keras-3": {"builtins": {"layer": {"LSTM": newer}}}}
    asked = compare.acceptance_requests({"builtins": {"layer": {"LSTM": base}}}, lines)
    assert asked == {"layer": {"LSTM": {"zero_output_for_mask": False, "use_cudnn": "auto"}}}
    taken = {"layer": {"LSTM": ["zero_output_for_mask"]}}  # through 2.9's RNN **kwargs
    change = compare.argument_changes("layer", "LSTM", base, newer, {}, taken)
    assert change["added"] == {"use_cudnn": "auto"}


def test_a_nested_object_shows_only_what_differs(compare: ModuleType) -> None:
    base = {"class_name": "LSTM", "config": {"units": 2, "init": {"class_name": "Orthogonal"}}}
    newer = {
        "class_name": "LSTM",
        "config": {"units": 2, "init": {"class_name": "OrthogonalInitializer"}, "name": "x"},
    }
    assert compare.difference_only(base, newer) == (
        {"class_name": "LSTM", "config": {"init": "Orthogonal"}},
        {"class_name": "LSTM", "config": {"init": "OrthogonalInitializer"}},
    )
