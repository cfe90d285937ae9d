"""What a conversion did: the result object the CLI renders, and the refusal it raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tfbridge.errors import EXIT_FAILED, TfbridgeError

# "none": the value was a default or no-op; "training": only further training could differ
# (optimizer, loss, regularizers, augmentation). Nothing that changes predictions is ever dropped.
Effect = Literal["none", "training"]

ParityStatus = Literal["pass", "unchecked"]

RETRAIN_HINT = (
    "retrain in the `metal` profile (Python 3.8, tensorflow-macos 2.9), "
    "whose saved models the exam loads"
)


@dataclass(frozen=True)
class Dropped:
    """An argument or setting Keras 2.9 has no place for, left out of the output."""

    where: str
    name: str
    value: Any
    effect: Effect


@dataclass(frozen=True)
class ParityCheck:
    """`pass`: TF 2.9 loaded the output with compile=True and predicts what the original did;
    `unchecked`: why that could not be shown. A mismatch is never a ParityCheck: it raises."""

    status: ParityStatus
    detail: str


@dataclass
class ConversionReport:
    source: Path
    output: Path
    source_keras_version: str | None
    changes: list[str] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    fingerprint: Path | None = None  # the source's reference outputs, carried to the output
    parity: ParityCheck | None = None  # the output checked in the exam runtime, or why not
    converted: bool = True

    @property
    def changed(self) -> bool:
        return bool(self.changes or self.dropped)

    @property
    def lossy(self) -> list[Dropped]:
        """Drops that matter for further training (never for predictions)."""
        return [item for item in self.dropped if item.effect != "none"]


class ConversionRefused(TfbridgeError):
    """The model cannot be converted faithfully; `reasons` lists every cause found."""

    def __init__(self, source: Path, reasons: list[str], hint: str) -> None:
        listed = "; ".join(reasons)
        super().__init__(f"cannot convert {source}: {listed}", hint=hint, exit_code=EXIT_FAILED)
        self.source = source
        self.reasons = reasons


class Notes:
    """Collects, while rewriting, what changed, what was dropped and what makes conversion unsafe.

    Rewriting goes on after a refusal so that the user hears every reason at once.
    """

    def __init__(self) -> None:
        self.changes: list[str] = []
        self.dropped: list[Dropped] = []
        self.refusals: list[str] = []
        self.hints: list[str] = []
        # Changes measured on real models that the probes cannot pin down: written only when
        # TF 2.9's predictions on the output are checked against the original's and match.
        self.unproven: list[str] = []

    def change(self, message: str) -> None:
        if message not in self.changes:
            self.changes.append(message)

    def drop(self, where: str, name: str, value: Any, effect: Effect) -> None:
        self.dropped.append(Dropped(where, name, value, effect))

    def needs_proof(self, reason: str) -> None:
        if reason not in self.unproven:
            self.unproven.append(reason)

    def refuse(self, reason: str, hint: str = "") -> None:
        if reason not in self.refusals:
            self.refusals.append(reason)
        if hint and hint not in self.hints:
            self.hints.append(hint)
