"""A question's input/output contract: what the grader feeds the model and expects back."""

from __future__ import annotations

from dataclasses import dataclass

Shape = tuple[int | None, ...]


@dataclass(frozen=True)
class Contract:
    """Shapes exclude the batch dimension; None in a shape matches any size."""

    input_shape: Shape | None = None
    output_shape: Shape | None = None
    output_activation: str | None = None

    @property
    def is_empty(self) -> bool:
        return self.input_shape is None and self.output_shape is None and not self.output_activation
