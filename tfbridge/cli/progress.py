"""Progress lines on stderr, with a spinner (on a terminal only) while TensorFlow starts."""

from __future__ import annotations

import time
from types import TracebackType
from typing import TYPE_CHECKING

from tfbridge.cli.output import console

if TYPE_CHECKING:
    from rich.status import Status

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
