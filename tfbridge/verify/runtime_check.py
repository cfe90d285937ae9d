"""The runtime check: load each model in the real exam runtime as the grader does, and compare its
predictions on deterministic probes with the training environment's (fingerprint or --reference).

The warm exam worker (tfbridge.runtime.daemon) serves all models, TensorFlow imported once for
many commands. Models with Lambda layers or unknown classes are not loaded unless the caller trusts
them: loading runs their code, so they get a one-shot worker each. Known runtime verdicts are
reused (tfbridge.verify.verdict_cache).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from tfbridge.contract import Contract
from tfbridge.errors import EnvironmentFailure, TfbridgeError
from tfbridge.progress import Progress
from tfbridge.verify.contract_check import format_shape, shapes_match
from tfbridge.verify.result import Check, LoadOutcome, ModelReport
from tfbridge.verify.static import verdict_of
from tfbridge.verify.verdict_cache import load_verdict, reuse_check, store_verdict, verdict_key

if TYPE_CHECKING:
    from tfbridge.runtime import ProbeResult, RuntimeWorker


def run_runtime_checks(
    reports: Sequence[tuple[ModelReport, Contract | None]],
    python: Path,
    *,
    trust: bool = False,
    reference_python: Path | None = None,
    progress: Progress | None = None,
    daemon: bool = True,
    cache: bool = True,
) -> list[str]:
    """Add runtime checks to each report in place.

    Models are loaded by the warm exam worker (`daemon`, when possible) or one worker of this call
    for all of them; a model whose loading runs its code (trusted) always gets a one-shot worker
    of its own, so that code never lives on in a shared process. Runtime verdicts already known
    for the same inputs are reused (`cache`; never with --reference, whose outputs are no input
    of the key). A worker that dies or times out on one model fails that model and is restarted
    for the next; the returned lines say where it did (the environment failed). A worker that
    cannot start at all raises EnvironmentFailure.
    """
    from tfbridge.runtime import RuntimeWorker
    from tfbridge.runtime.daemon import runtime_identity, shared_possible

    failures: list[str] = []
    identity = runtime_identity(python) if cache and reference_python is None else None
    with ExitStack() as stack:
        # Workers start on their first request: a batch of cache hits starts none.
        shared = RuntimeWorker(python, shared=daemon and shared_possible(python), progress=progress)
        own = RuntimeWorker(python, progress=progress)
        stack.callback(own.close)
        stack.callback(shared.close)
        reference = None
        if reference_python is not None:
            reference = RuntimeWorker(reference_python, progress=progress)
            stack.callback(reference.close)
        for index, (report, contract) in enumerate(reports, start=1):
            if progress is not None:
                progress(f"[{index}/{len(reports)}] {report.path}: exam runtime check")
            key = None if identity is None else verdict_key(report.path, contract, trust, identity)
            if key is not None and _reuse(report, key):
                continue
            worker = own if trust and report.runs_code else shared
            first_runtime_check = len(report.checks)
            try:
                _check_one(report, worker, reference, contract, trust)
            except EnvironmentFailure as error:
                report.checks.append(Check("runtime.load", "fail", error.message, error.hint))
                failures.append(error.one_line())
                key = None
            if worker is own:
                own.close()  # the code it ran must not serve the next model
            if key is not None and report.runtime_skipped is None:
                store_verdict(key, report, report.checks[first_runtime_check:])
            report.verdict = verdict_of(report.checks)
    return failures


def _reuse(report: ModelReport, key: str) -> bool:
    cached = load_verdict(key)
    if cached is None:
        return False
    report.checks.append(reuse_check(cached))
    report.checks.extend(cached.checks)
    report.runtime_load = cached.runtime_load  # type: ignore[assignment]
    report.verdict = verdict_of(report.checks)
    return True


def skip_runtime(reports: Sequence[ModelReport], why: str, hint: str = "") -> None:
    for report in reports:
        _skip(report, "runtime", why, f"runtime check skipped: {why}", hint)


def _skip(report: ModelReport, check_id: str, why: str, message: str, hint: str = "") -> None:
    report.checks.append(Check(check_id, "skip", message, hint))
    report.runtime_skipped = why


def _check_one(
    report: ModelReport,
    worker: RuntimeWorker,
    reference: RuntimeWorker | None,
    contract: Contract | None,
    trust: bool,
) -> None:
    if not report.readable or report.path.is_dir():
        why = "a directory, not an .h5 file" if report.readable else "an unreadable file"
        skip_runtime([report], why)
        return
    if report.unsafe_to_load:
        _skip(
            report,
            "runtime.load",
            f"not loaded ({report.unsafe_to_load})",
            f"not loaded: {report.unsafe_to_load}",
            "save the model again from the environment that trained it",
        )
        return
    if report.runs_code and not trust:
        _skip(
            report,
            "runtime.load",
            f"not loaded without --trust ({report.runs_code})",
            f"not loaded: {report.runs_code}, and loading runs its code",
            "pass --trust to load it anyway, if you trust where it came from",
        )
        return
    try:
        result = worker.predict_probes(report.path, compile=True)
        outcome = _outcome(worker, report.path, result)
    except EnvironmentFailure:
        raise
    except TfbridgeError as error:
        report.checks.append(Check("runtime.load", "fail", error.one_line()))
        return
    report.runtime_load = outcome
    report.checks.append(_load_check(outcome, result))
    if report.static_load is not None and report.static_load != outcome:
        report.checks.append(
            Check(
                "runtime.agreement",
                "warn",
                f"the static check predicted '{report.static_load}' but TF 2.9 did '{outcome}'",
                "trust the runtime result; please report this file to tfbridge",
            )
        )
    if outcome != "compile":
        return
    if not result.ok:
        report.checks.append(
            Check(
                "runtime.predict",
                "fail",
                f"loads but cannot predict on "
                f"probe inputs ({result.error_type}: {result.error_message})",
            )
        )
        return
    if result.nonfinite_outputs:
        report.checks.append(_nonfinite_check(result))
        return
    report.checks.append(_parity_check(report.path, result, reference))
    if contract is not None and contract.output_shape is not None and result.outputs:
        report.checks.append(_output_contract_check(contract, result))


def _outcome(worker: RuntimeWorker, model: Path, result: ProbeResult) -> LoadOutcome:
    if result.load.ok:
        return "compile"
    return "no-compile" if worker.load(model, compile=False).ok else "never"


def _load_check(outcome: LoadOutcome, result: ProbeResult) -> Check:
    if outcome == "compile":
        return Check("runtime.load", "pass", "TF 2.9 loaded it with compile=True, as the grader")
    how = (
        "loads it only with compile=False"
        if outcome == "no-compile"
        else "does not load it, not even with compile=False"
    )
    return Check(
        "runtime.load",
        "fail",
        f"TF 2.9 {how}: {result.load.error}",
        "see the static findings for the fix",
    )


def _nonfinite_check(result: ProbeResult) -> Check:
    outputs = ", ".join(f"'{name}'" for name in result.nonfinite_outputs)
    source = (
        f"; the weights of layer '{result.nonfinite_layer}' already hold NaN or Inf"
        if result.nonfinite_layer
        else ""
    )
    return Check(
        "runtime.predict",
        "fail",
        f"it loads but predicts NaN or Inf on the probe inputs (output {outputs}){source}: "
        "the grader would score it as useless",
        "retrain it (training diverged: lower the learning rate, normalize the inputs) and "
        "check model.predict before saving",
    )


def _parity_check(model: Path, result: ProbeResult, reference: RuntimeWorker | None) -> Check:
    from tfbridge.runtime import compare_outputs, compare_with_fingerprint, read_fingerprint
    from tfbridge.runtime.parity import DEFAULT_ATOL, DEFAULT_RTOL
    from tfbridge.verify.h5file import parity_tolerance_of

    try:
        fingerprint = read_fingerprint(model)
    except TfbridgeError as error:
        return Check("runtime.parity", "fail", error.message, error.hint)
    # A float16 model is compared at float16's precision (keras29.precision), float32 at its own.
    tolerance = parity_tolerance_of(model, DEFAULT_ATOL, DEFAULT_RTOL)
    within = {"atol": tolerance.atol, "rtol": tolerance.rtol}
    if fingerprint is not None:
        parity = compare_with_fingerprint(result, fingerprint, **within)
        source = f"the fingerprint written with TF {fingerprint.writer.tf_version}"
    elif reference is not None:
        expected = reference.predict_probes(model, compile=False)
        if not expected.ok or expected.digest != result.digest:
            return Check(
                "runtime.parity",
                "fail",
                "the --reference interpreter could not predict on the same probes",
                "check the --reference interpreter",
            )
        parity = compare_outputs(result.outputs, expected.outputs, **within)
        source = f"--reference {reference.python}"
    else:
        return Check(
            "runtime.parity",
            "skip",
            "no fingerprint beside the model and no --reference: predictions not compared",
            "run `tfbridge fingerprint MODEL` in the training environment",
        )
    figures = (
        f"max abs diff {parity.max_abs:.3g}, max rel diff {parity.max_rel:.3g} "
        f"(atol {parity.atol:g}, rtol {parity.rtol:g}{tolerance.note}) vs {source}"
    )
    if parity.ok:
        return Check("runtime.parity", "pass", f"predictions match: {figures}")
    detail = f"{parity.message}; " if parity.message else ""
    return Check(
        "runtime.parity",
        "fail",
        f"predictions differ: {detail}{figures}",
        "retrain in the `metal` profile (Keras 2.9) or `tfbridge convert` and re-check",
    )


def _output_contract_check(contract: Contract, result: ProbeResult) -> Check:
    assert contract.output_shape is not None
    actual = tuple(int(d) for d in result.outputs[0].shape[1:])
    if len(result.outputs) == 1 and shapes_match(contract.output_shape, actual):
        return Check("runtime.contract", "pass", f"output shape {format_shape(actual)} matches")
    return Check(
        "runtime.contract",
        "fail",
        f"output shape {format_shape(actual)} (of "
        f"{len(result.outputs)} outputs) differs from the contract's "
        f"{format_shape(contract.output_shape)}",
        "change the model's last layer",
    )
