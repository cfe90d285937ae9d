"""Load a synced model with the grading machine's exam interpreter, nothing installed there: the
runtime worker is shipped and spoken to over the SSH channel by the one client (RuntimeWorker)."""

from __future__ import annotations

from pathlib import Path

from tfbridge.errors import EnvironmentFailure, TfbridgeError
from tfbridge.inenv.results import ProbeResult
from tfbridge.runtime.client import RuntimeWorker
from tfbridge.sync.result import RemoteVerdict
from tfbridge.sync.transport import Transport

TIMEOUT = 900.0


def remote_verify(
    transport: Transport, python: str, model: str, reference: Path | None = None
) -> RemoteVerdict:
    """Load `model` the way the grader does (compile=True) and predict on the worker's probes;
    with a fingerprint beside the local `reference` model, compare the outputs to it."""
    worker = RuntimeWorker(python, timeout=TIMEOUT, transport=transport)
    try:
        worker.start()
    except EnvironmentFailure as error:
        raise EnvironmentFailure(
            error.message, hint="check [target] python points at the exam environment's python"
        ) from None
    with worker:
        hello = worker.hello
        assert hello is not None
        where = f"TF {hello.tf_version}, Python {hello.python_version}"
        try:
            result = worker.predict_probes(model, compile=True)
        except EnvironmentFailure:
            raise
        except TfbridgeError as error:
            return RemoteVerdict("fail", f"worker error: {error.message}", str(hello.tf_version))
    verdict = _verdict(result, where, str(hello.tf_version))
    if verdict.verdict == "pass" and reference is not None:
        return _with_parity(verdict, result, reference)
    return verdict


def _verdict(result: ProbeResult, where: str, tf_version: str) -> RemoteVerdict:
    if not result.load.ok:
        return RemoteVerdict(
            "fail", f"does not load with compile=True ({where}): {result.load.error}", tf_version
        )
    if not result.ok:
        return RemoteVerdict(
            "fail", f"loads but cannot predict ({where}): {result.error_message}", tf_version
        )
    return RemoteVerdict("pass", f"loads with compile=True and predicts ({where})", tf_version)


def _with_parity(verdict: RemoteVerdict, result: ProbeResult, reference: Path) -> RemoteVerdict:
    from tfbridge.runtime import compare_with_fingerprint, read_fingerprint

    fingerprint = read_fingerprint(reference)
    if fingerprint is None or fingerprint.stale:
        return verdict
    parity = compare_with_fingerprint(result, fingerprint)
    if parity.ok:
        verdict.message += f"; outputs match the fingerprint (max abs diff {parity.max_abs:.2g})"
        return verdict
    verdict.verdict = "fail"
    verdict.message += f"; but outputs differ from the fingerprint: {parity.message}"
    return verdict
