"""A question's input/output contract: what the grader feeds the model and expects back."""

from __future__ import annotations

from dataclasses import dataclass

from tfbridge.errors import TfbridgeError

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

    def overridden_by(self, other: Contract) -> Contract:
        """This contract with each part `other` sets put in its place."""
        return Contract(
            input_shape=other.input_shape or self.input_shape,
            output_shape=other.output_shape or self.output_shape,
            output_activation=other.output_activation or self.output_activation,
        )


def parse_shape(text: str, option: str) -> Shape:
    """`28,28,1` (or `(28, 28, 1)`; `None` or `?` for any size) as a shape. A usage error names
    `option`, the command-line option the text came from."""
    parts = [part.strip() for part in text.strip("()[] ").split(",") if part.strip()]
    sizes = [None if part.lower() in ("none", "?") else _size(part) for part in parts]
    if not sizes or any(size == 0 for size in sizes):
        raise TfbridgeError(
            f"{option} {text!r} is not a shape: sizes are positive whole numbers or None",
            f"write it as comma-separated sizes, e.g. {option} 28,28,1",
        )
    return tuple(sizes)


def _size(part: str) -> int:
    """A positive size, or 0 for anything that is not one (the caller rejects the shape)."""
    try:
        size = int(part)
    except ValueError:
        return 0
    return size if size > 0 else 0
