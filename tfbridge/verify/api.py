"""The Python API of verification: `verify_model(path)` and `verify_paths(paths)`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from tfbridge.config import load_config
from tfbridge.contract import Contract
from tfbridge.envs import env_status, ready_python
from tfbridge.errors import TfbridgeError
from tfbridge.model_files import discover_models, printable_path
from tfbridge.progress import Progress
from tfbridge.verify.result import Check, ModelReport, VerifyReport
from tfbridge.verify.runtime_check import run_runtime_checks, skip_runtime
from tfbridge.verify.static import static_check

if TYPE_CHECKING:
    # Annotations only (postponed): typing.Unpack is Python 3.11+, tfbridge runs on 3.10.
    from typing_extensions import Unpack

EXAM_PROFILE = "exam"


class VerifyOptions(TypedDict, total=False):
    """How the models are checked (see `verify_models`, which holds the defaults)."""

    runtime: bool | None
    trust: bool
    reference_python: Path | None
    exam_python: Path | None
    progress: Progress | None
    daemon: bool
    cache: bool


def verify_model(
    path: Path, *, contract: Contract | None = None, **options: Unpack[VerifyOptions]
) -> ModelReport:
    """Verify one model file: the static check, then (when on) the runtime check."""
    return verify_models([(path, contract)], **options).models[0]


def verify_paths(
    paths: Sequence[Path], *, contract: Contract | None = None, **options: Unpack[VerifyOptions]
) -> VerifyReport:
    """Verify files and directories (a directory stands for the .h5 files under it).

    `runtime=None` runs the runtime check when the exam environment is ready (or `exam_python`
    is given); `runtime=True` requires it (TfbridgeError naming the fix when it is missing).
    """
    return verify_models([(model, contract) for model in discover_models(paths)], **options)


def verify_request(
    paths: Sequence[Path],
    *,
    slot: str | None = None,
    contract: Contract | None = None,
    **options: Unpack[VerifyOptions],
) -> VerifyReport:
    """What `tfbridge verify` is asked: the paths (or, when none is given, the slot's model),
    against the slot's contract with the parts `contract` sets put over it.

    A batch in which no path can be read at all is an error (exit 2) naming the first path.
    """
    base, slot_model = _slot_contract(slot)
    targets = list(paths) or ([] if slot_model is None else [slot_model])
    if not targets:
        raise TfbridgeError("no model given", "pass PATH... (files or directories) or --slot NAME")
    wanted = base.overridden_by(contract or Contract())
    report = verify_paths(targets, contract=None if wanted.is_empty else wanted, **options)
    _require_a_readable_model(report)
    return report


def verify_models(
    models: Sequence[tuple[Path, Contract | None]],
    *,
    runtime: bool | None = None,
    trust: bool = False,
    reference_python: Path | None = None,
    exam_python: Path | None = None,
    progress: Progress | None = None,
    daemon: bool = True,
    cache: bool = True,
) -> VerifyReport:
    """Verify model files, each against its own contract, with one exam worker for all.

    `daemon=False` (or TFBRIDGE_NO_DAEMON=1) uses a one-shot worker instead of the warm one;
    `cache=False` loads every model again even when its runtime verdict is known.
    """
    if reference_python is not None and not Path(reference_python).is_file():
        raise TfbridgeError(
            f"no Python interpreter at {reference_python}",
            "pass --reference the interpreter of the environment that trained the models",
        )
    checked = [(static_check(path, contract), contract) for path, contract in models]
    python = exam_python if exam_python is not None else _exam_python(runtime)
    loadable = [(report, contract) for report, contract in checked if report.readable]
    failures: list[str] = []
    if runtime is False:
        skip_runtime([report for report, _ in loadable], "--no-runtime")
    elif python is None:
        skip_runtime(
            [report for report, _ in loadable],
            "the exam environment is not set up",
            "run `tfbridge setup exam`",
        )
    elif loadable:
        failures = run_runtime_checks(
            loadable,
            python,
            trust=trust,
            reference_python=reference_python,
            progress=progress,
            daemon=daemon,
            cache=cache,
        )
    for report, _ in checked:
        if not report.readable:
            report.runtime_skipped = report.runtime_skipped or "the file cannot be read"
    return VerifyReport([report for report, _ in checked], worker_failures=failures)


def _slot_contract(slot: str | None) -> tuple[Contract, Path | None]:
    """The project slot's contract and model (an empty contract and None without a slot)."""
    if slot is None:
        return Contract(), None
    config = load_config()
    if slot not in config.slots:
        known = ", ".join(sorted(config.slots)) or "none"
        raise TfbridgeError(
            f"no slot '{slot}' in {config.source} (slots: {known})",
            "name a slot from the project config",
        )
    return config.slots[slot].contract, config.slots[slot].model


def _require_a_readable_model(report: VerifyReport) -> None:
    if any(model.readable for model in report.models):
        return
    first = report.models[0]
    reason = next((c.message for c in first.checks if c.id == "static.file"), "unreadable")
    raise TfbridgeError(
        f"{printable_path(first.path)}: {reason}",
        "give the path of a Keras .h5 model (what `model.save('m.h5')` writes)",
    )


def _exam_python(runtime: bool | None) -> Path | None:
    if runtime is False:
        return None
    if runtime is True:
        return ready_python(EXAM_PROFILE)
    status = env_status(EXAM_PROFILE)
    return status.python if status.ready and status.current else None


__all__ = [
    "Check",
    "ModelReport",
    "VerifyReport",
    "verify_model",
    "verify_models",
    "verify_paths",
    "verify_request",
]
