"""RuntimeWorker: the one client of the in-environment worker (tfbridge.runtime.worker).

One worker process serves many models: TensorFlow is imported once, and every `load` or
`predict_probes` after that costs only the model itself. The same client and protocol
(tfbridge.runtime.protocol) reach the worker three ways, each a Conversation:

- a one-shot process of its own, under a local interpreter (the default);
- the warm exam worker of tfbridge.runtime.daemon, over its Unix socket (`shared=True`): closing
  only ends the conversation. A warm worker that stops answering (no heartbeat, or past the
  request deadline) is killed, and the request is retried once on a fresh one, with one line;
- a process on the grading machine, started over SSH (`transport=`), for `sync --remote-verify`.

A worker that dies or hangs is reported as an EnvironmentFailure (exit 3) naming the interpreter
and what it was doing; the next request starts a fresh one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import msgspec

from tfbridge.errors import EnvironmentFailure, TfbridgeError
from tfbridge.files import regular_file_problem
from tfbridge.records import invalid
from tfbridge.runtime import protocol
from tfbridge.runtime.conversation import Conversation, spawn
from tfbridge.runtime.protocol import EnvironmentProbe, Hello, ProbeRun
from tfbridge.runtime.results import LoadResult, ProbeResult, RuntimeInfo
from tfbridge.runtime.shipping import launch_argv, shipment

if TYPE_CHECKING:
    from tfbridge.runtime.daemon import DaemonRecord
    from tfbridge.sync.transport import Transport

Progress = Callable[[str], None]
T = TypeVar("T")
# Variables that would make the target interpreter import the wrong packages.
_FOREIGN_PYTHON_VARS = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONSAFEPATH")
# How long a warm worker's heartbeat may be silent before it counts as stopped or wedged.
HEARTBEAT_LIMIT_SECONDS = 10.0
_SLICE_SECONDS = 1.0
# A Python exception line, a fatal interpreter error, or a fatal TensorFlow log line ("F ...").
_ERROR_LINE = re.compile(
    r"^([\w.]+(Error|Exception|Interrupt)\b.*|Fatal Python error.*|\S+ \S+: F .*|.*Check failed.*)$"
)


class WorkerTimeout(EnvironmentFailure):
    """The worker did not answer in time (it was killed: it may hang for good)."""


class RuntimeWorker:
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
        self.python = Path(python)
        self.timeout = timeout
        self.shared = shared and transport is None
        self.progress = progress
        self.transport = transport
        self.lazy = lazy
        self.hello: Hello | None = None
        self._conversation: Conversation | None = None
        self._daemon: DaemonRecord | None = None
        self._who = ""  # the worker last discarded, as messages name it
        self._next_id = 0

    def __enter__(self) -> RuntimeWorker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def where(self) -> str:
        """The interpreter, as messages name it (with the host for a remote one)."""
        if self.transport is not None:
            return self.transport.describe(str(self.python))
        return str(self.python)

    @property
    def pid(self) -> int | None:
        return None if self.hello is None else self.hello.pid

    # ------------------------------------------------------------------ requests

    def info(self) -> RuntimeInfo:
        result = self._request({"op": "info"}, doing="reporting its versions")
        return self._convert(result, RuntimeInfo, "reporting its versions")

    def probe(
        self, distributions: list[str], imports: dict[str, str], *, devices: bool = False
    ) -> EnvironmentProbe:
        message = {"op": "probe", "distributions": distributions, "imports": imports}
        result = self._request({**message, "devices": devices}, doing="probing its packages")
        return self._convert(result, EnvironmentProbe, "probing its packages")

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
        conversation, self._conversation = self._conversation, None
        self.hello, self._daemon = None, None
        if conversation is not None:
            conversation.close()

    def stderr_tail(self) -> str:
        """The end of what the worker (TensorFlow, models) wrote to stderr/stdout."""
        return "" if self._conversation is None else self._conversation.stderr_tail()

    def _start_own(self) -> None:
        began = time.monotonic()
        if self.progress is not None and not self.lazy:
            from tfbridge.runtime.daemon import starting_message

            self.progress(starting_message())
        self._conversation = self._open_remote() if self.transport else self._spawn()
        self._greet("importing TensorFlow", limit=None)
        if self.transport is None and not self.lazy:
            from tfbridge.runtime.daemon import remember_start_seconds

            remember_start_seconds(time.monotonic() - began)

    def _start_shared(self) -> None:
        """Connect to the warm worker and read its hello. One that closes the connection
        unanswered was stopping (`worker stop`, idle, a rebuilt environment) or had died; one
        whose heartbeat stopped is killed: either way the second attempt starts a new one."""
        from tfbridge.runtime.conversation import SocketConversation
        from tfbridge.runtime.daemon import connect

        for attempt in (1, 2):
            connection, self._daemon = connect(self.python, self.timeout, self.progress)
            self._conversation = SocketConversation(connection, Path(self._daemon.log))
            try:
                self._greet("waiting for its turn", limit=self._daemon)
                return
            except WorkerTimeout as error:
                if attempt == 2:
                    raise
                self._say_replaced(error)
            except EnvironmentFailure:
                if attempt == 2:
                    raise

    def _greet(self, doing: str, limit: DaemonRecord | None) -> None:
        line = self._read_line(doing=doing, heartbeat=limit)
        try:
            greeting = protocol.decode_greeting(line)
        except msgspec.MsgspecError as error:
            self._discard()
            raise self._protocol_error(doing, error) from None
        if isinstance(greeting, protocol.Fatal):
            self._discard()
            raise EnvironmentFailure(
                f"TensorFlow does not import in {self.where}: "
                f"{greeting.error.type}: {greeting.error.message}",
                hint="point --python at an environment with TensorFlow, "
                "or run `tfbridge setup exam` for the exam runtime",
            )
        if greeting.protocol != protocol.PROTOCOL_VERSION:
            self._discard()
            raise EnvironmentFailure(
                f"the worker in {self.where} speaks protocol {greeting.protocol}, "
                f"not {protocol.PROTOCOL_VERSION}",
                hint="run `tfbridge worker stop`, then try again",
            )
        self.hello = greeting

    def _spawn(self) -> Conversation:
        if not self.python.exists():
            raise EnvironmentFailure(
                f"no Python interpreter at {self.python}",
                hint="pass --python with an existing interpreter, or run `tfbridge setup exam`",
            )
        options = ["--lazy"] if self.lazy else []
        try:
            conversation = spawn(launch_argv(str(self.python), *options), worker_environment())
        except OSError as error:
            raise EnvironmentFailure(
                f"cannot run {self.python}: {error.strerror or error}",
                hint="pass --python with a working interpreter, or run `tfbridge setup exam`",
            ) from error
        self._ship(conversation)
        return conversation

    def _open_remote(self) -> Conversation:
        assert self.transport is not None
        conversation = self.transport.converse(launch_argv(str(self.python)))
        self._ship(conversation)
        return conversation

    def _ship(self, conversation: Conversation) -> None:
        with contextlib.suppress(OSError):  # it died at once: reading its hello reports how
            conversation.write(shipment())

    def _discard(self) -> None:
        """Drop the worker: it died, hung or broke the protocol, so nobody talks to it again."""
        self._who = self._describe()
        conversation, self._conversation = self._conversation, None
        daemon, self._daemon = self._daemon, None
        self.hello = None
        if conversation is not None:
            conversation.kill()
        if daemon is not None:
            from tfbridge.runtime.daemon import kill_worker

            kill_worker(daemon)

    def _describe(self) -> str:
        if self._daemon is not None:
            return f"the warm exam worker (pid {self._daemon.pid})"
        return f"the TensorFlow worker in {self.where}"

    def _say_replaced(self, error: WorkerTimeout) -> None:
        """The one line saying that a warm worker stopped answering and a new one starts."""
        if self.progress is not None:
            self.progress(f"{error.message}; starting a new one")

    # ------------------------------------------------------------------ one exchange

    def _request(self, message: dict[str, Any], *, doing: str) -> dict[str, Any] | None:
        try:
            return self._exchange(message, doing)
        except WorkerTimeout as error:
            if not self.shared:
                raise
            self._say_replaced(error)
        return self._exchange(message, doing)  # once, on a fresh warm worker

    def _exchange(self, message: dict[str, Any], doing: str) -> dict[str, Any] | None:
        self.start()
        assert self._conversation is not None
        self._next_id += 1
        message["id"] = self._next_id
        try:
            self._conversation.write((json.dumps(message) + "\n").encode("utf-8"))
        except OSError:
            self._raise_died(doing)
        line = self._read_line(doing=doing, heartbeat=self._daemon)
        try:
            response = protocol.decode_line(line, protocol.Response)
        except msgspec.MsgspecError as error:
            self._discard()
            raise self._protocol_error(doing, error) from None
        if response.id != self._next_id:
            self._discard()
            raise EnvironmentFailure(
                f"the TensorFlow worker in {self.where} answered out of turn while {doing}",
                hint="this is a tfbridge bug; please report it with the model",
            )
        if not response.ok:
            detail = "no reason given" if response.error is None else response.error.message
            raise TfbridgeError(f"the TensorFlow worker in {self.where} refused {doing}: {detail}")
        return response.result

    def _convert(self, result: dict[str, Any] | None, kind: type[T], doing: str) -> T:
        try:
            return protocol.convert(result, kind)
        except msgspec.ValidationError as error:
            raise self._protocol_error(doing, error) from None

    def _protocol_error(self, doing: str, error: msgspec.MsgspecError) -> EnvironmentFailure:
        why = str(error)
        if isinstance(error, msgspec.ValidationError):
            wrong = invalid(error)
            why = f"{wrong.key or 'the message'} {wrong.problem}"
        return EnvironmentFailure(
            f"the TensorFlow worker in {self.where} sent a malformed message while {doing} ({why})",
            hint="this is a tfbridge bug; please report it with the model",
        )

    def _read_line(self, *, doing: str, heartbeat: DaemonRecord | None) -> bytes:
        """The next protocol line. Lines that are not JSON objects are skipped: a login shell
        may print before the worker starts. `heartbeat`: a warm worker, judged by it too."""
        assert self._conversation is not None
        began = time.monotonic()
        deadline = began + self._deadline()
        while True:
            left = deadline - time.monotonic()
            try:
                line = self._conversation.readline(min(left, _SLICE_SECONDS))
            except TimeoutError:
                if time.monotonic() >= deadline:
                    self._discard()
                    raise self._timeout(f"timed out after {self._deadline():g} s", doing) from None
                silent = _heartbeat_silence(heartbeat, began)
                if silent is not None and silent > HEARTBEAT_LIMIT_SECONDS:
                    self._discard()
                    raise self._timeout(f"gave no sign of life for {silent:.0f} s", doing) from None
                continue
            if not line:
                self._raise_died(doing)
            if line.lstrip().startswith(b"{"):
                return line

    def _deadline(self) -> float:
        if not self.shared:
            return self.timeout
        from tfbridge.runtime.daemon import request_deadline

        return min(self.timeout, request_deadline())

    def _timeout(self, what: str, doing: str) -> WorkerTimeout:
        """Called after _discard(), which forgets the warm worker: `who` names it first."""
        who = self._who
        return WorkerTimeout(
            f"{who} {what} while {doing}",
            hint="allow more time with a larger timeout, or check that the model "
            "loads by hand in that environment",
        )

    def _raise_died(self, doing: str) -> NoReturn:
        conversation = self._conversation
        code = None if conversation is None else conversation.exit_code()
        last = _last_error_line(self.stderr_tail())
        if self.shared:
            # It closed our connection: it died (its socket is then gone) or is stopping after
            # another caller, whom killing it would hurt.
            self._daemon = None
        self._discard()
        detail = f": {last}" if last else ""
        raise EnvironmentFailure(
            f"the TensorFlow worker in {self.where} died while {doing} ({_describe_exit(code)})"
            + detail,
            hint="if a model crashed TensorFlow itself, load it by hand in that environment "
            "to see the full output; other models can still be checked",
        )


def probe_environment(
    python: Path,
    imports: dict[str, str],
    *,
    distributions: list[str] | None = None,
    devices: bool = False,
    timeout: float = 600.0,
) -> EnvironmentProbe:
    """What the environment of `python` has: its Python, the versions of `distributions`,
    whether each of `imports` ({module: its distribution}) imports (and at which version), and
    with `devices` the devices TensorFlow sees. TensorFlow is imported only for `devices` or
    when it is among `imports`."""
    with RuntimeWorker(python, timeout=timeout, lazy=True) as worker:
        return worker.probe(list(distributions or []), imports, devices=devices)


def worker_environment() -> dict[str, str]:
    """The environment a worker runs with: this one, minus what would mislead its Python."""
    env = {k: v for k, v in os.environ.items() if k not in _FOREIGN_PYTHON_VARS}
    env.update({"PYTHONIOENCODING": "utf-8", "PYTHONHASHSEED": "0"})
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    return env


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


def _last_error_line(text: str) -> str:
    """The last line of the worker's log that reports an error, else its last line (most lines
    are noise; a shell that found no interpreter says so in its last)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if _ERROR_LINE.match(line)]
    return (errors or lines or [""])[-1][:300]


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "exit status unknown"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _model_path(model: Path) -> Path:
    """The model's absolute path, refused before the worker opens it unless a regular file."""
    path = Path(model).expanduser()
    problem = regular_file_problem(path)
    if problem == "no such file":
        raise TfbridgeError(f"no model file at {model}", hint="check the path")
    if problem is not None:
        raise TfbridgeError(f"{model}: {problem}", hint="give the path of a regular .h5 file")
    return path.resolve()
