"""Fingerprinting many models: each is read first (a damaged file, or one whose loading would run
its own code without trust, is refused with the reason), then run in one worker that writes its
fingerprint beside it (tfbridge.runtime.fingerprint). A model that fails does not stop the others.

It sits above both `runtime` (which runs models) and `verify` (which reads them), so neither needs
the other's half.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tfbridge.envs import env_status
from tfbridge.errors import EXIT_ENVIRONMENT, EXIT_FAILED, EnvironmentFailure, TfbridgeError
from tfbridge.keras29.graph import structure_problems
from tfbridge.runtime import RuntimeWorker, write_fingerprint
from tfbridge.runtime.daemon import shared_possible
from tfbridge.verify.h5file import read_saved_file
from tfbridge.verify.static import static_check


@dataclass(frozen=True)
class FingerprintOutcome:
    """One model of `write_fingerprints`: the file written, or why none was."""

    model: Path
    path: Path | None
    error: str | None = None
    exit_code: int = EXIT_FAILED  # EXIT_ENVIRONMENT when the worker died or timed out on it

    @property
    def ok(self) -> bool:
        return self.error is None


def write_fingerprints(
    models: Sequence[Path],
    python: Path,
    *,
    progress: Callable[[Path], None] | None = None,
    timeout: float = 600.0,
    trust: bool = True,
) -> list[FingerprintOutcome]:
    """Fingerprint many models in one worker; a model that fails does not stop the others.

    `trust=False` refuses models whose loading runs code from them (Lambda layers, unknown
    classes), as verify does without --trust; callers fingerprinting what their own training
    script just wrote (train, convert) trust it.
    """
    outcomes = []
    shared = not trust and _warm_worker_serves(python)
    with RuntimeWorker(python, timeout=timeout, shared=shared) as worker:
        for model in map(Path, models):
            if progress is not None:
                progress(model)
            try:
                _refuse_damaged(model)
                if not trust:
                    _refuse_code(model)
                outcomes.append(
                    FingerprintOutcome(model, write_fingerprint(model, python, worker=worker))
                )
            except EnvironmentFailure as error:
                outcomes.append(FingerprintOutcome(model, None, error.one_line(), EXIT_ENVIRONMENT))
            except TfbridgeError as error:
                outcomes.append(FingerprintOutcome(model, None, error.one_line()))
    return outcomes


def _warm_worker_serves(python: Path) -> bool:
    """The exam environment's warm worker may serve models that run no code of their own."""
    exam = env_status("exam")
    same = exam.ready and os.path.abspath(exam.python) == os.path.abspath(python)
    return same and shared_possible(python)


def _refuse_damaged(model: Path) -> None:
    """A file whose Keras attributes are damaged is no model to take reference outputs from,
    whichever Keras could still load it without them."""
    saved = read_saved_file(model)
    damage = [f"its `{name}` attribute {why}" for name, why in saved.bad_attributes.items()]
    if saved.training_config is not None and not isinstance(saved.training_config, dict):
        damage.append("its `training_config` attribute is not a JSON object")
    # A broken graph can keep TensorFlow's loader busy forever: refuse it before loading.
    damage.extend(problem.message for problem in structure_problems(saved.model_config))
    if damage:
        raise TfbridgeError(
            f"{model} not fingerprinted: {damage[0]}",
            hint="save the model again with `model.save('model.h5')`",
            exit_code=EXIT_FAILED,
        )


def _refuse_code(model: Path) -> None:
    runs_code = static_check(model).runs_code
    if runs_code:
        raise TfbridgeError(
            f"{model} not fingerprinted: {runs_code}, and loading runs its code",
            hint="pass --trust to load it anyway, if you trust where it came from",
            exit_code=EXIT_FAILED,
        )
