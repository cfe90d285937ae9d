"""Where a long command is, for the CLI to show: `sync` and `train` call one `PhaseCallback` with
each phase they enter (hashing slot q1, 1 of 2; sending it, bytes so far; gating model 2 of 3).
Domain code never prints; the CLI decides how, and whether, to show it (tfbridge.cli.progress)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Stage = Literal[
    # sync and rollback, per slot
    "wait",  # for another run's lock on the target (`detail` says whose)
    "hash",  # reading a model (here or on the far side) to compare it
    "verify",  # checking a model that will leave, or whose contract changed
    "upload",  # sending a model: `done` of `total` bytes
    "place",  # renaming the checked upload into its slot
    "remote-verify",  # loading it with the grading machine's interpreter
    "rollback",
    # train
    "preflight",  # checking the training environment
    "run",  # the training script runs
    "fingerprint",  # recording reference predictions of the models it wrote
    "gate",  # each model's verdict in the exam runtime, n of N
    "sync",  # sending the passing models to their slots
]


@dataclass(frozen=True)
class Phase:
    """`item`: the slot or model the phase is about ("" for the whole command); `n` of `of`: its
    place among the items this stage goes through (0 when not counted); `done` of `total`: bytes
    moved while sending; `detail`: a line for people, where the stage alone says too little."""

    item: str
    stage: Stage
    done: int = 0
    total: int = 0
    detail: str = ""
    n: int = 0
    of: int = 0


PhaseCallback = Callable[[Phase], None]


def no_progress(phase: Phase) -> None:
    """The callback of a caller that shows nothing."""
