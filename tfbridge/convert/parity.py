"""Convert proves what it can: the converted file is loaded in the real exam runtime and its
predictions compared with the original's fingerprint before convert reports success.

The check is verify's own runtime check (`tfbridge.verify.verify_models`), run on the output with
the fingerprint carried beside it. Where it cannot run (no fingerprint of the original, no exam
environment, Lambda code not to be run unasked) the report says so plainly: "parity unchecked".
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tfbridge.convert.report import RETRAIN_HINT, ConversionRefused, ParityCheck
from tfbridge.errors import EnvironmentFailure

NO_FINGERPRINT = (
    "no fingerprint of the original to compare with (write one with `tfbridge fingerprint "
    "MODEL` in the environment that saved it, or pass --reference-python)"
)


class ParityMismatch(ConversionRefused):
    """The converted file does not load in TF 2.9 or predicts something else (exit 1)."""

    def __init__(self, source: Path, reason: str) -> None:
        super().__init__(source, [f"{reason}; the output was removed"], RETRAIN_HINT)


def reference_fingerprint(source: Path, reference_python: Path, *, trust: bool) -> str | None:
    """Write the original's fingerprint with the Python that saved it; why not, or None.

    Loading runs a Lambda's code there too, so such models are fingerprinted only with `trust`.
    """
    from tfbridge.fingerprinting import write_fingerprints
    from tfbridge.runtime import read_fingerprint

    current = read_fingerprint(source)
    if current is not None and not current.stale:
        return None
    (outcome,) = write_fingerprints([source], reference_python, trust=trust)
    return None if outcome.ok else f"--reference-python could not fingerprint it: {outcome.error}"


def check_parity(
    source: Path,
    output: Path,
    fingerprint: Path | None,
    *,
    trust: bool = False,
    progress: Callable[[str], None] | None = None,
) -> ParityCheck:
    """Load `output` in the exam runtime and compare it with the carried `fingerprint`.

    Raises ParityMismatch when TF 2.9 cannot load it with compile=True, cannot predict with it,
    or predicts otherwise than the fingerprint; EnvironmentFailure when the worker died on it.
    """
    if fingerprint is None:
        return ParityCheck("unchecked", NO_FINGERPRINT)
    from tfbridge.verify import verify_models

    report = verify_models([(output, None)], trust=trust, progress=progress)
    if report.worker_failures:  # the environment failed, not the conversion: exit 3
        raise EnvironmentFailure(
            f"the exam runtime failed while checking {output}: {report.worker_failures[0]}",
            "run again; if it keeps failing, check the environment with `tfbridge doctor`",
        )
    checks = {check.id: check for check in report.models[0].checks}
    for check_id in ("runtime.load", "runtime.predict", "runtime.parity"):
        check = checks.get(check_id)
        if check is not None and check.status == "fail":
            raise ParityMismatch(source, f"TF 2.9 checked the converted file: {check.message}")
    parity = checks.get("runtime.parity")
    if parity is not None and parity.status == "pass":
        return ParityCheck("pass", parity.message)
    skipped = [check for check in report.models[0].checks if check.status == "skip"]
    why = skipped[0].message if skipped else "the exam runtime did not compare predictions"
    hint = f" ({skipped[0].hint})" if skipped and skipped[0].hint else ""
    return ParityCheck("unchecked", why + hint)
