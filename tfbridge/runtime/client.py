"""RuntimeWorker: the client of the in-environment worker for models (tfbridge.inenv.worker).

One worker process serves many models: TensorFlow is imported once, and every `load` or
`predict_probes` after that costs only the model itself. It speaks the protocol through
tfbridge.inenv.client.WorkerClient and reaches the worker three ways, each a Conversation:

- a one-shot process of its own, under a local interpreter (the default);
- the warm exam worker of tfbridge.runtime.daemon, over its Unix socket (`shared=True`): closing
  only ends the conversation. A warm worker that stops answering (no heartbeat, or past the
  request deadline) is killed, and the request is retried once on a fresh one, with one line;
- a process on the grading machine, started over SSH (`transport=`), for `sync --remote-verify`.

A worker that dies or hangs is reported as an EnvironmentFailure (exit 3) naming the interpreter
and what it was doing; the next request starts a fresh one.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from tfbridge.errors import EnvironmentFailure, TfbridgeError
from tfbridge.files import regular_file_problem
from tfbridge.inenv import protocol
from tfbridge.inenv.client import WorkerClient, WorkerTimeout
from tfbridge.inenv.conversation import Conversation
from tfbridge.inenv.protocol import ProbeRun
from tfbridge.inenv.results import LoadResult, ProbeResult
from tfbridge.inenv.shipping import launch_argv
from tfbridge.progress import Progress

if TYPE_CHECKING:
    from tfbridge.runtime.daemon import DaemonRecord
    from tfbridge.sync.transport import Transport

# How long a warm worker's heartbeat may be silent before it counts as stopped or wedged.
HEARTBEAT_LIMIT_SECONDS = 10.0


class RuntimeWorker(WorkerClient):
    """`with RuntimeWorker(python) as worker: worker.load(model)` — one process, many models.

    `timeout` bounds TensorFlow's import and every single request, in seconds (for the warm
    worker, TFBRIDGE_WORKER_DEADLINE may shorten it). A worker that died or timed out is replaced
    by a fresh one on the next request. Not thread-safe: one caller at a time.
    """

    def __init__(
        self,
        python: Path | str,
        *,
        timeout: float = 600.0,
        shared: bool = False,
        progress: Progress | None = None,
        transport: Transport | None = None,
        lazy: bool = False,
    ) -> None:
        super().__init__(python, timeout=timeout, lazy=lazy)
        self.shared = shared and transport is None
        self.progress = progress
        self.transport = transport
        self._daemon: DaemonRecord | None = None

    def __enter__(self) -> RuntimeWorker:
        self.start()
        return self

    @property
    def where(self) -> str:
        """The interpreter, as messages name it (with the host for a remote one)."""
        if self.transport is not None:
            return self.transport.describe(str(self.python))
        return str(self.python)

    # ------------------------------------------------------------------ requests

    def load(self, model: Path, *, compile: bool = True) -> LoadResult:
        path = _model_path(model)
        doing = f"loading {path}"
        result = self._request({"op": "load", "path": str(path), "compile": compile}, doing=doing)
        return self._convert(result, LoadResult, doing)

    def predict_probes(self, model: Path | str, *, compile: bool = True) -> ProbeResult:
        return protocol.probe_result(self.probe_run(model, compile=compile))

    def probe_run(
        self, model: Path | str, *, op: str = "predict_probes", **options: Any
    ) -> ProbeRun:
        """The worker's probe run, as sent (`op` "fingerprint" adds the fingerprint's text).
        A remote model's path is given as a string and checked by the worker alone."""
        path = str(model) if self.transport is not None else str(_model_path(Path(model)))
        doing = f"predicting with {path}"
        result = self._request({"op": op, "path": path, **options}, doing=doing)
        return self._convert(result, ProbeRun, doing)

    # ------------------------------------------------------------------ starting and ending

    def start(self) -> None:
        """Start the worker and wait for its hello (no-op when already running)."""
        if self._conversation is not None:
            return
        if self.shared:
            self._start_shared()
        else:
            self._start_own()

    def close(self) -> None:
        """End the conversation: a worker of our own exits, the warm worker stays up."""
        self._daemon = None
        super().close()

    def _start_own(self) -> None:
        began = time.monotonic()
        if self.progress is not None and not self.lazy:
            from tfbridge.runtime.daemon import starting_message

            self.progress(starting_message())
        super().start()
        if self.transport is None and not self.lazy:
            from tfbridge.runtime.daemon import remember_start_seconds

            remember_start_seconds(time.monotonic() - began)

    def _start_shared(self) -> None:
        """Connect to the warm worker and read its hello. One that closes the connection
        unanswered was stopping (`worker stop`, idle, a rebuilt environment) or had died; one
        whose heartbeat stopped is killed: either way the second attempt starts a new one."""
        from tfbridge.inenv.conversation import SocketConversation
        from tfbridge.runtime.daemon import connect

        for attempt in (1, 2):
            connection, self._daemon = connect(self.python, self.timeout, self.progress)
            self._conversation = SocketConversation(connection, Path(self._daemon.log))
            try:
                self._greet("waiting for its turn")
                return
            except WorkerTimeout as error:
                if attempt == 2:
                    raise
                self._say_replaced(error)
            except EnvironmentFailure:
                if attempt == 2:
                    raise

    def _open(self) -> Conversation:
        if self.transport is None:
            return super()._open()
        conversation = self.transport.converse(launch_argv(str(self.python)))
        self._ship(conversation)
        return conversation

    def _discard(self) -> None:
        daemon = self._daemon
        super()._discard()  # names the warm worker while it is still known
        self._daemon = None
        if daemon is not None:
            from tfbridge.runtime.daemon import kill_worker

            kill_worker(daemon)

    def _describe(self) -> str:
        if self._daemon is not None:
            return f"the warm exam worker (pid {self._daemon.pid})"
        return super()._describe()

    def _say_replaced(self, error: WorkerTimeout) -> None:
        """The one line saying that a warm worker stopped answering and a new one starts."""
        if self.progress is not None:
            self.progress(f"{error.message}; starting a new one")

    # ------------------------------------------------------------------ one exchange

    def _request(self, message: dict[str, Any], *, doing: str) -> dict[str, Any] | None:
        try:
            return super()._request(message, doing=doing)
        except WorkerTimeout as error:
            if not self.shared:
                raise
            self._say_replaced(error)
        return super()._request(message, doing=doing)  # once, on a fresh warm worker

    def _deadline(self) -> float:
        if not self.shared:
            return self.timeout
        from tfbridge.runtime.daemon import request_deadline

        return min(self.timeout, request_deadline())

    def _check_alive(self, waiting_since: float, doing: str) -> None:
        silent = _heartbeat_silence(self._daemon, waiting_since)
        if silent is not None and silent > HEARTBEAT_LIMIT_SECONDS:
            self._discard()
            raise self._timeout(f"gave no sign of life for {silent:.0f} s", doing) from None

    def _raise_died(self, doing: str) -> NoReturn:
        if self.shared:
            # It closed our connection: it died (its socket is then gone) or is stopping after
            # another caller, whom killing it would hurt.
            self._daemon = None
        super()._raise_died(doing)


def _heartbeat_silence(record: DaemonRecord | None, since: float) -> float | None:
    """Seconds since the warm worker's last heartbeat, counted from `since` at the earliest."""
    if record is None:
        return None
    try:
        touched = os.stat(f"{record.socket}.alive").st_mtime
    except OSError:
        touched = 0.0
    waited = time.monotonic() - since
    return min(waited, time.time() - touched)


def _model_path(model: Path) -> Path:
    """The model's absolute path, refused before the worker opens it unless a regular file."""
    path = Path(model).expanduser()
    problem = regular_file_problem(path)
    if problem == "no such file":
        raise TfbridgeError(f"no model file at {model}", hint="check the path")
    if problem is not None:
        raise TfbridgeError(f"{model}: {problem}", hint="give the path of a regular .h5 file")
    return path.resolve()
