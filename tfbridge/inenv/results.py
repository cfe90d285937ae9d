"""What the worker reports, as plain dataclasses (callers and renderers read them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy


@dataclass(frozen=True)
class Device:
    """A device TensorFlow sees, e.g. name "/physical_device:GPU:0", device_type "GPU"."""

    name: str
    device_type: str
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RuntimeInfo:
    """Who the worker is: the interpreter and TensorFlow/Keras it runs."""

    python_version: str
    tf_version: str
    keras_version: str | None
    devices: list[Device]
    keras_package: str | None = None
    numpy_version: str | None = None
    platform: str | None = None
    machine: str | None = None
    executable: str | None = None


@dataclass(frozen=True)
class LoadResult:
    """Whether `load_model(path, compile=...)` worked there; if not, the exception's type, text."""

    ok: bool
    error_type: str | None = None
    error_message: str | None = None
    keras_version: str | None = None  # the Keras that loaded (or tried to load) the model
    saved_by_keras: str | None = None  # the keras_version attribute of the .h5 file

    @property
    def error(self) -> str | None:
        """E.g. "ValueError: Unrecognized keyword arguments: ['batch_shape']"; None when ok."""
        if self.ok:
            return None
        return f"{self.error_type}: {self.error_message}"


@dataclass(frozen=True)
class ProbeInput:
    """How one model input was probed. `shape` includes the batch; `high` bounds "index" values."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    kind: str  # "uniform" floats in [0, 1), "index" ints in [0, high), "string", "bool"
    high: int | None = None


@dataclass
class ProbeResult:
    """Load outcome plus the model's outputs on the deterministic probes.

    `outputs` is empty when loading or predicting failed; `error_type`/`error_message` then say
    why predicting failed (load failures are in `load`). `digest` hashes the probe inputs, so two
    environments can confirm they fed identical values; `algorithm` is the probe generator's
    version.
    """

    load: LoadResult
    outputs: list[numpy.ndarray] = field(default_factory=list)
    output_names: list[str] = field(default_factory=list)
    inputs: list[ProbeInput] = field(default_factory=list)
    digest: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    algorithm: int | None = None
    # When some output holds NaN or Inf: the first layer whose weights do, if any does.
    nonfinite_layer: str | None = None

    @property
    def ok(self) -> bool:
        return self.load.ok and self.error_type is None

    @property
    def nonfinite_outputs(self) -> list[str]:
        """Names of the outputs holding NaN or Inf on the probes (a model that is useless)."""
        import numpy

        return [
            name
            for name, output in zip(self.output_names, self.outputs, strict=False)
            if output.dtype.kind in "fc" and not bool(numpy.isfinite(output).all())
        ]
