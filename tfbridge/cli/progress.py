"""Progress on stderr: lines, a spinner (on a terminal only) while TensorFlow starts, and a bar
while a model is sent (on a terminal; one line elsewhere)."""

from __future__ import annotations

import time
from types import TracebackType
from typing import TYPE_CHECKING

from tfbridge.cli.output import console

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID
    from rich.status import Status

    from tfbridge.phases import Phase

COLD_START_PREFIX = "starting TensorFlow"


class ProgressLines:
    """`with ProgressLines(quiet, verbose) as progress: domain_call(progress=progress)`.

    Each message is one plain line on stderr (stdout stays clean for --json); verbose lines start
    with the seconds since the command began. A cold start of TensorFlow also shows a spinner on
    a terminal until the next message or the end.
    """

    def __init__(self, quiet: bool = False, verbose: bool = False) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self._started = time.monotonic()
        self._spinner: Status | None = None

    def __call__(self, message: str) -> None:
        if self.quiet:
            return
        self._stop_spinner()
        err = console(stderr=True)
        err.print(self.stamped(message), markup=False)
        if message.startswith(COLD_START_PREFIX) and err.is_terminal:
            self._spinner = err.status("TensorFlow is starting", spinner="dots")
            self._spinner.start()

    def stamped(self, message: str) -> str:
        if not self.verbose:
            return message
        return f"[{time.monotonic() - self._started:6.1f} s] {message}"

    def __enter__(self) -> ProgressLines:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop_spinner()

    def _stop_spinner(self) -> None:
        if self._spinner is not None:
            self._spinner.stop()
            self._spinner = None


class PhaseProgress:
    """The CLI's one view of `tfbridge.phases`: `with PhaseProgress(quiet, verbose) as progress:
    sync(..., progress=progress)`.

    Each phase is a line on stderr ("q1 (1/2): hash"); an upload is a Rich bar on a terminal and
    one line elsewhere; a cold start of TensorFlow gets ProgressLines' spinner. Quiet (-q, --json)
    shows nothing but a wait for another run's lock, which would otherwise look like a hang.
    """

    def __init__(self, quiet: bool = False, verbose: bool = False) -> None:
        self.quiet = quiet
        self.lines = ProgressLines(quiet, verbose)
        self._bars: Progress | None = None
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, phase: Phase) -> None:
        if phase.stage == "wait":
            console(stderr=True).print(self.lines.stamped(phase.detail), markup=False)
        elif phase.stage == "upload":
            self._upload(phase)
        else:
            self.lines(describe(phase))

    def text(self, message: str) -> None:
        """A plain line from an API that reports in lines (verify's)."""
        self.lines(message)

    def __enter__(self) -> PhaseProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.lines.__exit__(None, None, None)
        if self._bars is not None:
            self._bars.stop()

    def _upload(self, phase: Phase) -> None:
        if self.quiet:
            return
        if not console(stderr=True).is_terminal:
            if phase.done == 0:
                self.lines(f"{describe(phase)} {phase.total / 1e6:.1f} MB")
            return
        bars = self._progress_bars()
        if phase.item not in self._tasks:
            self._tasks[phase.item] = bars.add_task(_label(phase), total=phase.total or None)
        bars.update(self._tasks[phase.item], completed=phase.done)

    def _progress_bars(self) -> Progress:
        if self._bars is None:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TransferSpeedColumn,
            )

            self._bars = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                console=console(stderr=True),
                transient=False,
            )
            self._bars.start()
        return self._bars


def describe(phase: Phase) -> str:
    """ "q1 (1/2): upload", "model.h5 (2/3): gate (pass)"; a phase of no item is its own line."""
    if not phase.item:
        return phase.detail or phase.stage
    text = f"{_label(phase)}: {phase.stage}"
    return f"{text} ({phase.detail})" if phase.detail else text


def _label(phase: Phase) -> str:
    return f"{phase.item} ({phase.n}/{phase.of})" if phase.of else phase.item
