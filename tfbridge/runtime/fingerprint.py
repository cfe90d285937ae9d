"""Fingerprints: a model's reference outputs on the probes, written beside it as JSON.

`tfbridge fingerprint model.h5` runs the model in the environment that trained it and writes
`model.h5.fingerprint.json`; verify later feeds the same probes in the exam runtime and compares.
A fingerprint whose recorded sha256 no longer matches the model is stale: reported, never used.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from tfbridge.errors import EXIT_FAILED, TfbridgeError
from tfbridge.files import regular_file_problem, write_text_atomic
from tfbridge.hashing import file_sha256
from tfbridge.inenv.results import ProbeInput, ProbeResult, RuntimeInfo
from tfbridge.model_files import discover_models
from tfbridge.runtime.client import RuntimeWorker
from tfbridge.runtime.parity import DEFAULT_ATOL, DEFAULT_RTOL, Parity, compare_outputs

if TYPE_CHECKING:
    import numpy

SCHEMA = "tfbridge.fingerprint"
SCHEMA_VERSION = 1
SUFFIX = ".fingerprint.json"


@dataclass
class Fingerprint:
    """A fingerprint file, read back; `stale` is true when the model changed since."""

    path: Path
    model: Path
    model_sha256: str
    model_size: int
    saved_by_keras: str | None
    loaded_with_keras: str | None
    writer: RuntimeInfo
    created: str
    probe_algorithm: int | None
    inputs: list[ProbeInput]
    digest: str | None
    output_names: list[str]
    outputs: list[numpy.ndarray] = field(repr=False)
    stale: bool = False
    stale_reason: str = ""


def fingerprint_path(model: Path) -> Path:
    return model.with_name(model.name + SUFFIX)


def expand_model_paths(paths: Sequence[Path]) -> list[Path]:
    """The models to fingerprint, found as verify finds them (`discover_models`).

    A path given that does not exist, or a directory with no model in it, is a usage error; what
    each found file really is (a FIFO, a link loop) is for `tfbridge.fingerprinting` to refuse.
    """
    for path in map(Path, paths):
        if not os.path.lexists(path):
            raise TfbridgeError(f"no such model file: {path}", hint="check the path")
    files = discover_models(paths)
    for path in files:
        if os.path.isdir(path):
            raise TfbridgeError(
                f"no .h5 models in {path}", hint="name the model files (.h5 or .hdf5)"
            )
    return files


def write_fingerprint(
    model: Path, python: Path, *, worker: RuntimeWorker | None = None, timeout: float = 600.0
) -> Path:
    """Run `model` in `python`'s TensorFlow and write its fingerprint beside it; return that path.

    Pass an open `worker` to fingerprint many models with one process.
    """
    model = Path(model)
    if worker is None:
        with RuntimeWorker(python, timeout=timeout) as own_worker:
            return _write_with(model, own_worker)
    return _write_with(model, worker)


def read_fingerprint(model: Path) -> Fingerprint | None:
    """The fingerprint beside `model`, None when there is none; `stale` set if the model changed."""
    model = Path(model)
    path = fingerprint_path(model)
    if not os.path.lexists(path):
        return None
    problem = regular_file_problem(path)
    if problem is not None:
        raise _unreadable(path, problem)
    data = _load_json(path)
    try:
        fingerprint = _from_json(path, model, data)
    except msgspec.ValidationError as error:
        raise _unreadable(path, f"bad field: {error}") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        raise _unreadable(path, f"missing or bad field ({type(error).__name__}: {error})") from None
    model_problem = regular_file_problem(model)
    if model_problem is not None:
        fingerprint.stale, fingerprint.stale_reason = True, f"{model}: {model_problem}"
    elif _sha256(model) != fingerprint.model_sha256:
        fingerprint.stale = True
        fingerprint.stale_reason = f"{model.name} changed after its fingerprint was written"
    return fingerprint


def carry_fingerprint(source: Path, target: Path) -> Path | None:
    """Give `target`, a faithful rewrite of `source` (by `tfbridge convert`), the source's
    reference outputs, so verifying the rewrite compares it with the original's predictions.

    Returns the new fingerprint, or None (removing any old one beside `target`) when `source`
    has no current fingerprint to carry.
    """
    source, target = Path(source), Path(target)
    destination = fingerprint_path(target)
    try:
        carried = read_fingerprint(source)
    except TfbridgeError:
        carried = None  # an unreadable fingerprint has nothing to carry; verify names it
    if carried is None or carried.stale:
        with contextlib.suppress(OSError):
            if os.path.isfile(destination):
                destination.unlink()
        return None
    document = _load_json(carried.path)
    document["model"] = {
        **document["model"],
        "name": target.name,
        "sha256": file_sha256(target),
        "size": target.stat().st_size,
        "carried_from": {"name": source.name, "sha256": carried.model_sha256},
    }
    write_text_atomic(destination, _dump(document))
    return destination


def compare_with_fingerprint(
    result: ProbeResult,
    fingerprint: Fingerprint,
    *,
    atol: float = DEFAULT_ATOL,
    rtol: float = DEFAULT_RTOL,
) -> Parity:
    """Parity of a probe run against a fingerprint, after checking both fed the same probes."""
    reason = _incomparable_reason(result, fingerprint)
    if reason:
        return Parity(float("inf"), float("inf"), False, atol, rtol, reason)
    return compare_outputs(result.outputs, fingerprint.outputs, atol=atol, rtol=rtol)


def _incomparable_reason(result: ProbeResult, fingerprint: Fingerprint) -> str:
    if fingerprint.stale:
        return f"the fingerprint is stale: {fingerprint.stale_reason}"
    if not result.ok:
        return "the model produced no outputs to compare"
    if result.algorithm != fingerprint.probe_algorithm:
        return "the fingerprint was made with other probes; write it again"
    if result.digest != fingerprint.digest:
        return (
            "the probes differ from the fingerprint's (input shapes or dtypes changed between "
            "environments: "
            + _describe_inputs(result.inputs)
            + " vs "
            + _describe_inputs(fingerprint.inputs)
            + ")"
        )
    return ""


def _describe_inputs(inputs: Sequence[ProbeInput]) -> str:
    return ", ".join(f"{i.dtype}{list(i.shape)}" for i in inputs) or "none"


def _write_with(model: Path, worker: RuntimeWorker) -> Path:
    """The worker writes the document (tfbridge.inenv.worker.fingerprint_document, the one the
    training helpers write too); we check it loaded and predicted, and put it in place."""
    problem = regular_file_problem(model)
    if problem is not None:
        raise TfbridgeError(
            f"{model}: {problem}", hint="give the path of a regular .h5 file", exit_code=EXIT_FAILED
        )
    run = worker.probe_run(model, op="fingerprint")
    if not run.load.ok:
        raise TfbridgeError(
            f"{model} does not load in {worker.python} ({run.load.error})",
            hint="fingerprint it with the environment that trained it (--python or --profile)",
            exit_code=EXIT_FAILED,
        )
    if run.error is not None or run.fingerprint is None:
        why = "no fingerprint" if run.error is None else f"{run.error.type}: {run.error.message}"
        raise TfbridgeError(
            f"{model} loads but cannot predict on probes in {worker.python} ({why})",
            hint="check the model's input shapes and dtypes",
            exit_code=EXIT_FAILED,
        )
    path = fingerprint_path(model)
    write_text_atomic(path, run.fingerprint)
    return path


def _sha256(model: Path) -> str:
    try:
        return file_sha256(model)
    except OSError as error:
        raise TfbridgeError(
            f"cannot read {model}: {error.strerror or error}", hint="check the file"
        ) from None


def _dump(document: dict[str, Any]) -> str:
    """The worker's layout (fingerprint_text): one top-level key per line."""
    lines = [f"  {json.dumps(key)}: {json.dumps(value)}" for key, value in document.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def _from_json(path: Path, model: Path, data: dict[str, Any]) -> Fingerprint:
    import numpy

    probes, model_data = data["probes"], data["model"]
    outputs = [
        numpy.array(o["values"], dtype=o["dtype"]).reshape(o["shape"]) for o in data["outputs"]
    ]
    return Fingerprint(
        path=path,
        model=model,
        model_sha256=str(model_data["sha256"]),
        model_size=int(model_data["size"]),
        saved_by_keras=model_data.get("saved_by_keras"),
        loaded_with_keras=model_data.get("loaded_with_keras"),
        writer=msgspec.convert(data["writer"], RuntimeInfo),
        created=str(data["created"]),
        probe_algorithm=probes.get("algorithm"),
        inputs=msgspec.convert(probes["inputs"], list[ProbeInput]),
        digest=probes.get("digest"),
        output_names=[str(o["name"]) for o in data["outputs"]],
        outputs=outputs,
    )


def _load_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _unreadable(path, str(error)) from None
    except RecursionError:
        raise _unreadable(path, "its JSON is nested too deep") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise _unreadable(path, "not a tfbridge fingerprint")
    version = data.get("schema_version", 0)
    if not isinstance(version, int):
        raise _unreadable(path, f"bad schema_version {version!r}")
    if version > SCHEMA_VERSION:
        raise TfbridgeError(
            f"{path} was written by a newer tfbridge (schema {data.get('schema_version')})",
            hint="upgrade tfbridge",
        )
    return data


def _unreadable(path: Path, why: str) -> TfbridgeError:
    model = path.with_name(path.name.removesuffix(SUFFIX))
    return TfbridgeError(
        f"cannot read fingerprint {path}: {why}",
        hint=f"write it again with `tfbridge fingerprint {model}`",
    )
