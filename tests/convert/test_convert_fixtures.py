"""Proof of `tfbridge convert` on every fixture, judged by the REAL TensorFlow 2.9.

For each fixture in tests/fixtures/labels.json (saved by real Keras 2.9 .. 3):
- not a full-model .h5 (broken, weights-only, .keras zip, SavedModel): a one-line usage error;
- a custom layer, or a Lambda written by Python 3.11+: refused, naming the reason;
- anything else: converted, static verify passes the output, and the exam runtime loads it with
  compile=True and predicts what the saver predicted (reference: the fingerprint committed beside
  the fixture).
And the property over the other fixture sets (tests/fixtures/semantics/*, mixed_precision/*):
convert succeeds (parity checked against the fingerprint beside the original, where there is one)
=> static verify passes the output and TF 2.9 loads it with compile=True and predicts the same;
convert refuses => every reason names the construct that has no exact 2.9 form.
The input's bytes never change.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tfbridge.convert import ConversionRefused, ParityMismatch, convert
from tfbridge.errors import EXIT_USAGE, TfbridgeError
from tfbridge.runtime import (
    ProbeResult,
    RuntimeWorker,
    compare_outputs,
    compare_with_fingerprint,
    fingerprint_path,
    read_fingerprint,
)
from tfbridge.runtime.parity import DEFAULT_ATOL, DEFAULT_RTOL
from tfbridge.verify import static_check
from tfbridge.verify.h5file import parity_tolerance_of

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MODELS = FIXTURES / "models"
LABELS: dict[str, dict[str, Any]] = json.loads((FIXTURES / "labels.json").read_text())["fixtures"]
NOT_A_FULL_MODEL_H5 = {"empty", "not-hdf5", "truncated", "weights-only", "keras-zip", "savedmodel"}
SAVER_ENVS = Path.home() / ".cache" / "tfbridge" / "fixture-envs"
OTHER_SETS = ("semantics", "mixed_precision", "breadth")
OTHER_FIXTURES = sorted(
    str(path.relative_to(FIXTURES))
    for folder in OTHER_SETS
    for path in (FIXTURES / folder).rglob("*.h5")
)
# A construct, as reasons name it: `name`, or a layer as `layer (ClassName)`.
NAMED_CONSTRUCT = re.compile(r"`[^`]+`|\(\w+\)")

pytestmark = pytest.mark.runtime


def expected_outcome(label: dict[str, Any]) -> str:
    """What convert must do, from what the fixture is (its metadata), not from its result."""
    if label["category"] in NOT_A_FULL_MODEL_H5:
        return "unreadable"
    if label["has_custom_layer"]:
        return "refused-custom"
    python = tuple(int(part) for part in (label["python_version"] or "0.0").split(".")[:2])
    if label["has_lambda"] and python >= (3, 11):
        return "refused-lambda"
    return "converted"


def sha256(path: Path) -> str:
    if path.is_dir():
        return "directory"
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def exam_worker(exam_python: Path) -> Iterator[RuntimeWorker]:
    with RuntimeWorker(exam_python) as worker:
        yield worker


class SaverWorkers:
    """Saver-env workers, started on demand: only for fixtures with no committed fingerprint yet."""

    def __init__(self, stack: ExitStack) -> None:
        self.stack = stack
        self.workers: dict[str, RuntimeWorker] = {}

    def get(self, saver: str, python: Path) -> RuntimeWorker:
        if saver not in self.workers:
            self.workers[saver] = self.stack.enter_context(RuntimeWorker(python))
        return self.workers[saver]


@pytest.fixture(scope="module")
def saver_workers() -> Iterator[SaverWorkers]:
    with ExitStack() as stack:
        yield SaverWorkers(stack)


def reference_for(
    source: Path, label: dict[str, Any], result: ProbeResult, savers: SaverWorkers
) -> tuple[bool, str]:
    fingerprint = read_fingerprint(source)
    if fingerprint is not None and not fingerprint.stale:
        parity = compare_with_fingerprint(result, fingerprint)
        return parity.ok, f"vs fingerprint: max_abs={parity.max_abs:.3g} {parity.message}"
    saver_python = SAVER_ENVS / str(label["saver"]) / "bin" / "python"
    if not saver_python.exists():
        pytest.fail(
            f"no fingerprint beside {source} and no saver env to compute one: "
            "run `python scripts/fixtures/build.py --fingerprints` and commit the result"
        )
    reference = savers.get(str(label["saver"]), saver_python).predict_probes(source, compile=False)
    assert reference.ok, reference
    assert reference.digest == result.digest, "the two runtimes fed different probes"
    parity = compare_outputs(result.outputs, reference.outputs)
    return parity.ok, f"vs saver env: max_abs={parity.max_abs:.3g} {parity.message}"


@pytest.mark.parametrize("fixture", sorted(LABELS), ids=str)
def test_convert_fixture(
    fixture: str,
    tmp_path: Path,
    exam_worker: RuntimeWorker,
    saver_workers: SaverWorkers,
) -> None:
    label = LABELS[fixture]
    source = MODELS / fixture
    before = sha256(source)
    output = tmp_path / "converted.h5"
    expected = expected_outcome(label)

    if expected == "unreadable":
        with pytest.raises(TfbridgeError) as raised:
            convert(source, output)
        assert not isinstance(raised.value, ConversionRefused)
        assert raised.value.exit_code == EXIT_USAGE
        assert str(source) in raised.value.message
    elif expected.startswith("refused"):
        with pytest.raises(ConversionRefused) as refused:
            convert(source, output)
        reasons = " ".join(refused.value.reasons)
        if expected == "refused-custom":
            assert "not a Keras 2.9 layer" in reasons or "custom class" in reasons, reasons
        else:
            assert "(Lambda)" in reasons and "Python 3." in reasons, reasons
            assert "metal" in refused.value.hint
    else:
        report = convert(source, output, check_parity=False)  # checked below, against each saver
        assert report.output == output
        result = exam_worker.predict_probes(output, compile=True)
        assert result.load.ok, f"TF 2.9 cannot load the converted {fixture}: {result.load.error}"
        assert result.ok, (result.error_type, result.error_message)
        assert_static_pass(output)
        ok, detail = reference_for(source, label, result, saver_workers)
        assert ok, f"{fixture}: converted predictions differ {detail}"
        if fingerprint_path(source).is_file():
            # verify compares the converted model with the original's predictions
            carried = read_fingerprint(output)
            assert report.fingerprint == fingerprint_path(output)
            assert carried is not None and not carried.stale
            assert compare_with_fingerprint(result, carried).ok

    assert sha256(source) == before, "convert modified its input"
    outputs = {output.name, fingerprint_path(output).name}
    leftovers = [p.name for p in tmp_path.iterdir() if p.name not in outputs]
    assert leftovers == [], f"temporary files left behind: {leftovers}"
    if expected != "converted":
        assert not output.exists()


def test_labels_cover_convertible_and_refused_cases() -> None:
    """The proof above means something only if the fixtures exercise each outcome."""
    outcomes = {expected_outcome(label) for label in LABELS.values()}
    assert outcomes >= {"unreadable", "refused-custom", "refused-lambda", "converted"}
    failing_but_convertible = [
        name
        for name, label in LABELS.items()
        if label["loads"] != "compile" and expected_outcome(label) == "converted"
    ]
    assert len(failing_but_convertible) >= 10, failing_but_convertible


def assert_static_pass(converted: Path) -> None:
    static = static_check(converted)
    failed = [check.message for check in static.checks if check.status == "fail"]
    assert static.static_load == "compile" and not failed, failed


@pytest.mark.parametrize("fixture", OTHER_FIXTURES, ids=str)
def test_convert_is_exact_or_refuses_by_construct(
    fixture: str, tmp_path: Path, exam_worker: RuntimeWorker
) -> None:
    source = FIXTURES / fixture
    output = tmp_path / "converted.h5"
    try:
        report = convert(source, output)  # parity checked where a fingerprint is beside it
    except ParityMismatch:
        assert not output.exists(), "a parity mismatch must remove the output"
        return
    except ConversionRefused as refused:
        unnamed = [r for r in refused.reasons if not NAMED_CONSTRUCT.search(r)]
        assert not unnamed, f"reasons that name no construct: {unnamed}"
        assert not output.exists()
        return
    assert_static_pass(output)
    result = exam_worker.predict_probes(output, compile=True)
    assert result.load.ok, f"TF 2.9 cannot load the converted {fixture}: {result.load.error}"
    reference = read_fingerprint(source)
    if reference is not None:
        assert report.parity is not None and report.parity.status == "pass"
        # At the precision the model computes in: float16 models round differently per runtime.
        tolerance = parity_tolerance_of(output, DEFAULT_ATOL, DEFAULT_RTOL)
        parity = compare_with_fingerprint(
            result, reference, atol=tolerance.atol, rtol=tolerance.rtol
        )
        assert parity.ok, f"{fixture}: max_abs={parity.max_abs:.3g} {parity.message}"
