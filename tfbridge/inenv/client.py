"""WorkerClient: the one speaker of the worker protocol (tfbridge.inenv.protocol) on the host.

It starts the in-environment worker under a local interpreter (shipped by tfbridge.inenv.shipping),
reads its hello, and sends one request at a time over a Conversation, each answer decoded into a
record. A worker that dies, hangs past the deadline or breaks the protocol is an EnvironmentFailure
(exit 3) naming the interpreter and what it was doing; the next request starts a fresh one.

tfbridge.runtime.RuntimeWorker builds on it for models (the warm worker, SSH, load and predict).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import time
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn, TypeVar

import msgspec

from tfbridge.errors import EnvironmentFailure, TfbridgeError
from tfbridge.inenv import protocol
from tfbridge.inenv.conversation import Conversation, spawn
from tfbridge.inenv.protocol import EnvironmentProbe, Hello
from tfbridge.inenv.results import RuntimeInfo
from tfbridge.inenv.shipping import launch_argv, shipment
from tfbridge.records import invalid

T = TypeVar("T")
# Variables that would make the target interpreter import the wrong packages.
_FOREIGN_PYTHON_VARS = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONSAFEPATH")
_SLICE_SECONDS = 1.0
# A Python exception line, a fatal interpreter error, or a fatal TensorFlow log line ("F ...").
_ERROR_LINE = re.compile(
    r"^([\w.]+(Error|Exception|Interrupt)\b.*|Fatal Python error.*|\S+ \S+: F .*|.*Check failed.*)$"
)
_DIED_HINT = (
    "if a model crashed TensorFlow itself, load it by hand in that environment "
    "to see the full output; other models can still be checked"
)
_NEVER_STARTED_HINT = "check that it is a working Python 3 interpreter, then run `tfbridge doctor`"


class WorkerTimeout(EnvironmentFailure):
    """The worker did not answer in time (it was killed: it may hang for good)."""


class WorkerClient:
    """`with WorkerClient(python) as worker: worker.info()` — one worker process, many requests.

    `timeout` bounds TensorFlow's import and every single request, in seconds. With `lazy` the
    worker says hello before importing TensorFlow, which only a request that needs it imports.
    Not thread-safe: one caller at a time.
    """

    def __init__(self, python: Path | str, *, timeout: float = 600.0, lazy: bool = False) -> None:
        self.python = Path(python)
        self.timeout = timeout
        self.lazy = lazy
        self.hello: Hello | None = None
        self._conversation: Conversation | None = None
        self._who = ""  # the worker last discarded, as messages name it
        self._next_id = 0

    def __enter__(self) -> WorkerClient:
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
        """The interpreter, as messages name it."""
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

    # ------------------------------------------------------------------ starting and ending

    def start(self) -> None:
        """Start the worker and wait for its hello (no-op when already running)."""
        if self._conversation is None:
            self._conversation = self._open()
            self._greet("starting" if self.lazy else "importing TensorFlow")

    def close(self) -> None:
        """End the conversation: a worker of our own exits."""
        conversation, self._conversation = self._conversation, None
        self.hello = None
        if conversation is not None:
            conversation.close()

    def stderr_tail(self) -> str:
        """The end of what the worker (TensorFlow, models) wrote to stderr/stdout."""
        return "" if self._conversation is None else self._conversation.stderr_tail()

    def _open(self) -> Conversation:
        """A new worker process under `python`, its source shipped."""
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

    def _ship(self, conversation: Conversation) -> None:
        with contextlib.suppress(OSError):  # it died at once: reading its hello reports how
            conversation.write(shipment())

    def _greet(self, doing: str) -> None:
        line = self._read_line(doing=doing)
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

    def _discard(self) -> None:
        """Drop the worker: it died, hung or broke the protocol, so nobody talks to it again."""
        self._who = self._describe()
        conversation, self._conversation = self._conversation, None
        self.hello = None
        if conversation is not None:
            conversation.kill()

    def _describe(self) -> str:
        return f"the TensorFlow worker in {self.where}"

    # ------------------------------------------------------------------ one exchange

    def _request(self, message: dict[str, Any], *, doing: str) -> dict[str, Any] | None:
        self.start()
        assert self._conversation is not None
        self._next_id += 1
        message["id"] = self._next_id
        try:
            self._conversation.write((json.dumps(message) + "\n").encode("utf-8"))
        except OSError:
            self._raise_died(doing)
        line = self._read_line(doing=doing)
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

    def _read_line(self, *, doing: str) -> bytes:
        """The next protocol line. Lines that are not JSON objects are skipped: a login shell
        may print before the worker starts."""
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
                self._check_alive(began, doing)
                continue
            if not line:
                self._raise_died(doing)
            if line.lstrip().startswith(b"{"):
                return line

    def _deadline(self) -> float:
        return self.timeout

    def _check_alive(self, waiting_since: float, doing: str) -> None:
        """Called while a read waits: a worker that shows it stopped is discarded here
        (raising WorkerTimeout). A process of our own gives no sign but its answer."""

    def _timeout(self, what: str, doing: str) -> WorkerTimeout:
        """Called after _discard(), which forgets the worker: `who` names it first."""
        return WorkerTimeout(
            f"{self._who} {what} while {doing}",
            hint="allow more time with a larger timeout, or check that the model "
            "loads by hand in that environment",
        )

    def _raise_died(self, doing: str) -> NoReturn:
        conversation = self._conversation
        code = None if conversation is None else conversation.exit_code()
        last = _last_error_line(self.stderr_tail())
        started = self.hello is not None
        self._discard()
        detail = f": {last}" if last else ""
        raise EnvironmentFailure(
            f"the TensorFlow worker in {self.where} died while {doing} ({_describe_exit(code)})"
            + detail,
            hint=_DIED_HINT if started else _NEVER_STARTED_HINT,
        )


def worker_environment() -> dict[str, str]:
    """The environment a worker runs with: this one, minus what would mislead its Python."""
    env = {k: v for k, v in os.environ.items() if k not in _FOREIGN_PYTHON_VARS}
    env.update({"PYTHONIOENCODING": "utf-8", "PYTHONHASHSEED": "0"})
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    return env


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
