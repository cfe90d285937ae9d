"""Prediction parity: are a model's outputs here the same as in the environment that trained it?"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy

DEFAULT_ATOL = 1e-5
DEFAULT_RTOL = 1e-4


@dataclass(frozen=True)
class Parity:
    """How far outputs are from the reference: ok when every element is within atol + rtol*|ref|.

    `max_rel` is taken over reference elements larger than `atol` in magnitude (near-zero
    references make relative differences meaningless). `message` explains a failure.
    """

    max_abs: float
    max_rel: float
    ok: bool
    atol: float
    rtol: float
    message: str = ""


def compare_outputs(
    outputs: Sequence[numpy.ndarray],
    reference_outputs: Sequence[numpy.ndarray],
    *,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
) -> Parity:
    """Element-wise |out - ref| <= atol + rtol * |ref| for every output (NaN equals NaN)."""
    if len(outputs) != len(reference_outputs):
        return _mismatch(
            f"the model has {len(outputs)} outputs, the reference {len(reference_outputs)}",
            atol,
            rtol,
        )
    max_abs = max_rel = 0.0
    for index, (output, reference) in enumerate(zip(outputs, reference_outputs, strict=True)):
        if output.shape != reference.shape:
            return _mismatch(
                f"output {index} has shape {output.shape}, the reference {reference.shape}",
                atol,
                rtol,
            )
        if not (_is_numeric(output) and _is_numeric(reference)):
            if not _equal_values(output, reference):
                return _mismatch(f"output {index} differs from the reference", atol, rtol)
            continue
        abs_diff, rel_diff = _differences(output, reference, atol)
        max_abs = max(max_abs, abs_diff)
        max_rel = max(max_rel, rel_diff)
    ok = _within(outputs, reference_outputs, atol, rtol)
    message = "" if ok else f"outputs differ by up to {max_abs:.3g} (atol {atol:g}, rtol {rtol:g})"
    return Parity(max_abs=max_abs, max_rel=max_rel, ok=ok, atol=atol, rtol=rtol, message=message)


def _is_numeric(array: numpy.ndarray) -> bool:
    return array.dtype.kind in "biufc"


def _equal_values(output: numpy.ndarray, reference: numpy.ndarray) -> bool:
    import numpy

    return bool(numpy.array_equal(output.astype(str), reference.astype(str)))


def _differences(
    output: numpy.ndarray, reference: numpy.ndarray, atol: float
) -> tuple[float, float]:
    import numpy

    out = output.astype(numpy.float64)
    ref = reference.astype(numpy.float64)
    both_nan = numpy.isnan(out) & numpy.isnan(ref)
    diff = numpy.where(both_nan, 0.0, numpy.abs(out - ref))
    diff = numpy.where(numpy.isnan(diff), numpy.inf, diff)
    if diff.size == 0:
        return 0.0, 0.0
    big = numpy.abs(ref) > atol
    rel = float(numpy.max(diff[big] / numpy.abs(ref[big]))) if big.any() else 0.0
    return float(numpy.max(diff)), rel


def _within(
    outputs: Sequence[numpy.ndarray],
    reference_outputs: Sequence[numpy.ndarray],
    atol: float,
    rtol: float,
) -> bool:
    import numpy

    for output, reference in zip(outputs, reference_outputs, strict=True):
        if _is_numeric(output) and _is_numeric(reference):
            close = numpy.isclose(
                output.astype(numpy.float64),
                reference.astype(numpy.float64),
                atol=atol,
                rtol=rtol,
                equal_nan=True,
            )
            if not bool(numpy.all(close)):
                return False
    return True


def _mismatch(message: str, atol: float, rtol: float) -> Parity:
    return Parity(
        max_abs=math.inf, max_rel=math.inf, ok=False, atol=atol, rtol=rtol, message=message
    )
