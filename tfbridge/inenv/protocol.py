"""The worker protocol's one schema, host side: what tfbridge.inenv.worker sends, validated.

Every line the worker writes is decoded here into these records (tfbridge.records: unknown keys
refused), so a worker of another protocol version or a damaged line is one clear error naming
the key, never a KeyError later. Requests are plain dicts ({"id", "op", ...}: see worker.py's
docstring).
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from tfbridge.inenv.results import Device, LoadResult, ProbeInput, ProbeResult, RuntimeInfo
from tfbridge.records import Record

if TYPE_CHECKING:
    import numpy

# Must equal worker.py's PROTOCOL_VERSION (a test reads both).
PROTOCOL_VERSION = 2
T = TypeVar("T")


class WireError(Record, frozen=True):
    type: str
    message: str


class Interpreter(Record, frozen=True):
    """Who a worker is. TensorFlow's fields are None until TensorFlow is imported."""

    protocol: int
    pid: int
    python_version: str
    tf_version: str | None
    keras_version: str | None
    keras_package: str | None
    numpy_version: str | None
    platform: str
    machine: str
    executable: str


class Hello(Interpreter, tag="hello", tag_field="event", frozen=True):
    """The worker's first line."""


class Fatal(Record, tag="fatal", tag_field="event", frozen=True):
    """The worker's first and last line when TensorFlow does not import."""

    error: WireError


class Response(Record, frozen=True):
    id: int | None
    ok: bool
    result: dict[str, Any] | None = None
    error: WireError | None = None


class EncodedArray(Record, frozen=True):
    dtype: str
    shape: list[int]
    npy_b64: str


class ProbeRun(Record, frozen=True):
    """The result of `predict_probes` and `fingerprint` (which adds the file's text)."""

    load: LoadResult
    algorithm: int
    probes: list[ProbeInput]
    digest: str | None
    output_names: list[str]
    outputs: list[EncodedArray]
    error: WireError | None
    nonfinite_layer: str | None
    fingerprint: str | None = None


class ImportOutcome(Record, frozen=True):
    """Whether a module imports there, and its distribution's version (environment markers
    written before the worker's probe left out the empty fields)."""

    ok: bool
    version: str | None = None
    error: str | None = None


class EnvironmentProbe(Interpreter, frozen=True):
    """The result of `probe`: the interpreter, distributions, imports and (if asked) devices:
    `devices` is None when not asked or when TensorFlow could not list them (`device_error`)."""

    distributions: dict[str, str | None]
    imports: dict[str, ImportOutcome]
    devices: list[Device] | None
    device_error: str | None = None


def decode_line(line: bytes, kind: type[T]) -> T:
    """One protocol line; msgspec.DecodeError or ValidationError when it is not one."""
    return msgspec.json.decode(line, type=kind)


def decode_greeting(line: bytes) -> Hello | Fatal:
    greeting: Hello | Fatal = msgspec.json.decode(line, type=Hello | Fatal)
    return greeting


def convert(result: dict[str, Any] | None, kind: type[T]) -> T:
    """A response's result as the record `kind`; msgspec.ValidationError names the key."""
    return msgspec.convert(result, type=kind)


def runtime_info(result: dict[str, Any] | None) -> RuntimeInfo:
    return msgspec.convert(result, type=RuntimeInfo)


def decode_array(data: EncodedArray) -> numpy.ndarray:
    import numpy

    raw = base64.b64decode(data.npy_b64)
    array: numpy.ndarray = numpy.load(io.BytesIO(raw), allow_pickle=False)
    return array


def probe_result(run: ProbeRun) -> ProbeResult:
    return ProbeResult(
        load=run.load,
        outputs=[decode_array(output) for output in run.outputs],
        output_names=run.output_names,
        inputs=run.probes,
        digest=run.digest,
        error_type=None if run.error is None else run.error.type,
        error_message=None if run.error is None else run.error.message,
        algorithm=run.algorithm,
        nonfinite_layer=run.nonfinite_layer,
    )
