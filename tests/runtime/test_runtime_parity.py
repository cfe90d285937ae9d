"""compare_outputs: tolerance, NaN, shape and count mismatches (pure numpy, no TensorFlow)."""

from __future__ import annotations

import math

import numpy as np

from tfbridge.runtime import compare_outputs


def test_identical_outputs_are_ok() -> None:
    reference = [np.array([[0.25, 0.75]], dtype=np.float32), np.array([3.0])]
    parity = compare_outputs([a.copy() for a in reference], reference)
    assert parity.ok
    assert parity.max_abs == 0.0
    assert parity.max_rel == 0.0
    assert parity.message == ""


def test_difference_within_tolerance_is_ok_and_measured() -> None:
    reference = [np.array([1.0, 2.0])]
    parity = compare_outputs([np.array([1.0 + 5e-5, 2.0])], reference, atol=1e-5, rtol=1e-4)
    assert parity.ok
    assert math.isclose(parity.max_abs, 5e-5, rel_tol=1e-6)
    assert math.isclose(parity.max_rel, 5e-5, rel_tol=1e-6)


def test_difference_beyond_tolerance_fails_with_message() -> None:
    parity = compare_outputs([np.array([0.5, 0.1])], [np.array([0.5, 0.2])])
    assert not parity.ok
    assert math.isclose(parity.max_abs, 0.1, rel_tol=1e-9)
    assert math.isclose(parity.max_rel, 0.5, rel_tol=1e-9)
    assert "0.1" in parity.message
    assert (parity.atol, parity.rtol) == (1e-5, 1e-4)


def test_relative_difference_ignores_near_zero_references() -> None:
    parity = compare_outputs([np.array([1e-7, 1.0])], [np.array([0.0, 1.0])])
    assert parity.ok
    assert parity.max_rel == 0.0
    assert math.isclose(parity.max_abs, 1e-7)


def test_nan_matches_nan_but_not_a_number() -> None:
    assert compare_outputs([np.array([np.nan, 1.0])], [np.array([np.nan, 1.0])]).ok
    parity = compare_outputs([np.array([np.nan])], [np.array([1.0])])
    assert not parity.ok
    assert parity.max_abs == math.inf


def test_shape_and_count_mismatches_fail() -> None:
    shape = compare_outputs([np.zeros((4, 2))], [np.zeros((4, 3))])
    assert not shape.ok
    assert "shape" in shape.message
    count = compare_outputs([np.zeros(2)], [np.zeros(2), np.zeros(2)])
    assert not count.ok
    assert "1 outputs" in count.message


def test_string_outputs_compare_exactly() -> None:
    assert compare_outputs([np.array(["cat", "dog"])], [np.array(["cat", "dog"])]).ok
    assert not compare_outputs([np.array(["cat", "dog"])], [np.array(["cat", "cow"])]).ok
