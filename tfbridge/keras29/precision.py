"""How closely two correct runs of a model can agree: its lowest compute precision, from its config.

A mixed_float16 model computes its hidden layers in float16. Two runtimes that both do that
correctly still round in a different order (measured: Keras 3.15's Dense accumulates a float16
matmul in float32 and rounds once; TF 2.9's CPU kernel rounds otherwise), so their outputs differ
by a few float16 epsilons (1.8e-3 on outputs near 1 for the committed Keras 3 fixture, while a
float32 model matches to 1e-7). Parity is then judged at that precision: a tolerance of a few
epsilons of the model's lowest compute dtype, never looser than float32's for a float32 model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tfbridge.keras29.visitor import Place, Visitor
from tfbridge.keras29.walk import Walk

# Machine epsilon of each reduced-precision float dtype, and the dtype policies computing in it.
EPSILON = {"float16": 2.0**-10, "bfloat16": 2.0**-7}
POLICY_COMPUTE_DTYPE = {
    "float16": "float16",
    "mixed_float16": "float16",
    "bfloat16": "bfloat16",
    "mixed_bfloat16": "bfloat16",
}
# Rounding differences of two correct runs stay within a few epsilons on exam-sized models.
EPSILONS_ALLOWED = 4


@dataclass(frozen=True)
class Tolerance:
    """`|out - ref| <= atol + rtol * |ref|`, and the compute dtype it was chosen for."""

    atol: float
    rtol: float
    compute_dtype: str

    @property
    def note(self) -> str:
        """', float16 compute' where the tolerance follows a reduced precision, else ''."""
        return f", {self.compute_dtype} compute" if self.compute_dtype in EPSILON else ""


def parity_tolerance(model_config: Any, atol: float, rtol: float) -> Tolerance:
    """The tolerance for a model: `atol`/`rtol` (float32's) unless a layer computes in a
    reduced-precision dtype, then `EPSILONS_ALLOWED` epsilons of the lowest one (never less)."""
    dtype = lowest_compute_dtype(model_config)
    if dtype not in EPSILON:
        return Tolerance(atol, rtol, dtype)
    loosest = EPSILONS_ALLOWED * EPSILON[dtype]
    return Tolerance(max(atol, loosest), max(rtol, loosest), dtype)


def lowest_compute_dtype(model_config: Any) -> str:
    """'bfloat16' or 'float16' when any layer computes in it (bfloat16 first: fewer digits),
    else 'float32'."""
    collector = _ComputeDtypes()
    Walk(collector).model(model_config)
    for dtype in sorted(EPSILON, key=EPSILON.__getitem__, reverse=True):
        if dtype in collector.dtypes:
            return dtype
    return "float32"


class _ComputeDtypes(Visitor):
    def __init__(self) -> None:
        self.dtypes: set[str] = set()

    def argument(self, value: Any, place: Place) -> Any:
        if place.category == "dtype_policy":
            name = _policy_name(value)
            if name in POLICY_COMPUTE_DTYPE:
                self.dtypes.add(POLICY_COMPUTE_DTYPE[name])
        return value


def _policy_name(value: Any) -> str | None:
    """`"float16"`, or a policy object (2.9's Policy, Keras 3's DTypePolicy) by its name."""
    if isinstance(value, str):
        return value
    config = value.get("config") if isinstance(value, dict) else None
    name = config.get("name") if isinstance(config, dict) else None
    return name if isinstance(name, str) else None
