"""Result objects of verification; renderers and callers (sync, train, convert) read these."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tfbridge import records
from tfbridge.status import Status as Status  # re-exported: verify speaks this vocabulary
from tfbridge.status import Verdict as Verdict

# What TF 2.9's load_model does with the file: loads as the grader does (compile=True), loads
# only with compile=False, or does not load at all.
LoadOutcome = Literal["compile", "no-compile", "never"]


class Check(records.Record, frozen=True, kw_only=False):
    """One finding. `id` is stable (e.g. "static.load", "runtime.parity"); `hint` is the fix.
    A record, as the verdict cache reads checks back; positional: `Check(id, status, message)`."""

    id: str
    status: Status
    message: str
    hint: str = ""


@dataclass
class ModelReport:
    path: Path
    verdict: Verdict
    checks: list[Check] = field(default_factory=list)
    keras_version: str | None = None
    # Filled by tfbridge.verify: the static prediction, the runtime's observation (None when the
    # runtime check did not run), and whether the path could be read at all.
    static_load: LoadOutcome | None = None
    runtime_load: LoadOutcome | None = None
    readable: bool = True
    # Why the runtime check did not run (the verdict is then the static check's alone), or None.
    runtime_skipped: str | None = None
    # Why loading this model would run code from it (Lambda layers, custom classes), or "".
    runs_code: str = ""
    # Why loading it could hang or crash TensorFlow (a cyclic graph, absurd shapes), or "":
    # such a model is never loaded, not even with --trust.
    unsafe_to_load: str = ""

    @property
    def failed(self) -> bool:
        return self.verdict == "fail"


@dataclass
class VerifyReport:
    models: list[ModelReport] = field(default_factory=list)
    # The exam worker died or timed out on these models (one line each): the environment failed.
    worker_failures: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(model.failed for model in self.models)
