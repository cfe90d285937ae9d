"""RuntimeWorker: one worker process in a TensorFlow environment, serving many models.

TensorFlow is imported once when the worker starts; every `load`/`predict_probes` after that costs
only the model itself. A worker that dies or hangs is reported as an EnvironmentFailure (exit 3)
naming the interpreter and what it was doing; the next request starts a fresh process.

`shared=True` talks the same protocol over the socket of the warm worker (tfbridge.runtime.daemon)
instead of a process of its own: closing only ends the conversation, and a worker that died or
hung is killed so that the next caller starts a fresh one.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import queue
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, NoReturn

from tfbridge.errors import EnvironmentFailure, TfbridgeError
from tfbridge.files import regular_file_problem
from tfbridge.runtime.results import LoadResult, ProbeInput, ProbeResult, RuntimeInfo

if TYPE_CHECKING:
    import numpy

    from tfbridge.runtime.daemon import DaemonRecord

WORKER_SCRIPT = Path(__file__).resolve().with_name("worker.py")
SHUTDOWN_GRACE_SECONDS = 10.0
# Variables that would make the target interpreter import the wrong packages.
_FOREIGN_PYTHON_VARS = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONSAFEPATH")
_STDERR_TAIL_BYTES = 16_384
# A Python exception line, a fatal interpreter error, or a fatal TensorFlow log line ("F ...").
_ERROR_LINE = re.compile(
    r"^([\w.]+(Error|Exception|Interrupt)\b.*|Fatal Python error.*|\S+ \S+: F .*|.*Check failed.*)$"
)


class WorkerTimeout(EnvironmentFailure):
    """The worker did not answer in time (it was killed: it may hang for good)."""


class RuntimeWorker:
    """`with RuntimeWorker(python) as worker: worker.load(model)` — one process, many models.

    `timeout` bounds TensorFlow's import and every single request, in seconds. A worker that
    died or timed out is replaced by a fresh one on the next request. Not thread-safe: one
    caller at a time.
    """

    def __init__(
        self,
        python: Path,
        *,
        timeout: float = 600.0,
        shared: bool = False,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.python = Path(python)
        self.timeout = timeout
        self.shared = shared
        self.progress = progress
        self._process: subprocess.Popen[str] | None = None
        self._socket: socket.socket | None = None
        self._daemon: DaemonRecord | None = None
        self._responses: queue.Queue[str | None] = queue.Queue()
        self._log_path: Path | None = None
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
    def pid(self) -> int | None:
        if self._daemon is not None:
            return self._daemon.pid
        return self._process.pid if self._process is not None else None

    # ------------------------------------------------------------------ requests

    def info(self) -> RuntimeInfo:
        return RuntimeInfo.from_json(self._request({"op": "info"}, doing="reporting its versions"))

    def load(self, model: Path, *, compile: bool = True) -> LoadResult:
        path = _model_path(model)
        result = self._request(
            {"op": "load", "path": str(path), "compile": compile}, doing=f"loading {path}"
        )
        return LoadResult.from_json(result)

    def predict_probes(self, model: Path, *, compile: bool = True) -> ProbeResult:
        path = _model_path(model)
        result = self._request(
            {"op": "predict_probes", "path": str(path), "compile": compile},
            doing=f"predicting with {path}",
        )
        return probe_result_from_json(result)

    # ------------------------------------------------------------------ process

    def start(self) -> None:
        """Start the worker and wait until TensorFlow is imported (no-op when already running)."""
        if self._socket is not None or (self._process is not None and self._process.poll() is None):
            return
        self._discard_process()
        began = time.monotonic()
        if self.shared:
            hello = self._shared_hello()
        else:
            self._spawn()
            hello = self._read_line(doing="importing TensorFlow")
        if not self.shared and hello.get("event") == "hello":
            from tfbridge.runtime.daemon import remember_start_seconds

            remember_start_seconds(time.monotonic() - began)
        if hello.get("event") == "fatal":
            error = hello.get("error") or {}
            self._discard_process()
            raise EnvironmentFailure(
                f"TensorFlow does not import in {self.python}: "
                f"{error.get('type')}: {error.get('message')}",
                hint="point --python at an environment with TensorFlow, "
                "or run `tfbridge setup exam` for the exam runtime",
            )

    def close(self) -> None:
        if self._socket is not None:
            self._hang_up()
            return
        process = self._process
        if process is not None and process.poll() is None:
            try:
                self._send({"op": "shutdown", "id": -1})
                process.wait(timeout=SHUTDOWN_GRACE_SECONDS)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._discard_process()

    def stderr_tail(self, max_bytes: int = _STDERR_TAIL_BYTES) -> str:
        """The end of what the worker (TensorFlow, models) wrote to stderr/stdout."""
        if self._log_path is None or not self._log_path.exists():
            return ""
        with self._log_path.open("rb") as log:
            size = log.seek(0, io.SEEK_END)
            log.seek(max(0, size - max_bytes))
            return log.read().decode("utf-8", "replace")

    def _connect_shared(self) -> None:
        from tfbridge.runtime.daemon import connect

        self._responses = queue.Queue()
        self._socket, self._daemon = connect(self.python, self.timeout, self.progress)
        self._log_path = Path(self._daemon.log)
        reader = self._socket.makefile("r", encoding="utf-8", newline="\n")
        threading.Thread(target=_pump_lines, args=(reader, self._responses), daemon=True).start()

    def _shared_hello(self) -> dict[str, Any]:
        """Connect to the warm worker and read its hello. A worker that closes the connection
        unanswered was stopping (`worker stop`, idle, a rebuilt environment) or had died: the
        second attempt starts a new one."""
        for attempt in (1, 2):
            self._connect_shared()
            try:
                return self._read_line(doing="waiting for the warm exam worker")
            except WorkerTimeout:
                raise
            except EnvironmentFailure:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _hang_up(self) -> None:
        """End the conversation with the warm worker; it stays up for the next caller."""
        connection, self._socket = self._socket, None
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
        self._daemon = None
        self._log_path = None

    def _spawn(self) -> None:
        if not self.python.exists():
            raise EnvironmentFailure(
                f"no Python interpreter at {self.python}",
                hint="pass --python with an existing interpreter, or run `tfbridge setup exam`",
            )
        env = worker_environment()
        if self.progress is not None:
            from tfbridge.runtime.daemon import starting_message

            self.progress(starting_message())
        handle, name = tempfile.mkstemp(prefix="tfbridge-worker-", suffix=".log")
        os.close(handle)
        self._log_path = Path(name)
        self._responses = queue.Queue()
        try:
            # Append mode: the worker's writes never clash with our reads of the same file.
            with self._log_path.open("ab") as log:
                self._process = subprocess.Popen(
                    [str(self.python), str(WORKER_SCRIPT)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    env=env,
                    text=True,
                    encoding="utf-8",
                    bufsize=1,
                )
        except OSError as error:
            self._discard_process()
            raise EnvironmentFailure(
                f"cannot run {self.python}: {error.strerror or error}",
                hint="pass --python with a working interpreter, or run `tfbridge setup exam`",
            ) from error
        stdout = self._process.stdout
        assert stdout is not None
        threading.Thread(target=_pump_lines, args=(stdout, self._responses), daemon=True).start()

    def _discard_process(self) -> None:
        if self._socket is not None:
            # It died, hung or answered out of turn: nobody should talk to it again.
            from tfbridge.runtime.daemon import kill_worker

            daemon = self._daemon
            self._hang_up()
            if daemon is not None:
                kill_worker(daemon.pid, Path(daemon.socket))
            return
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.kill()
            process.wait()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        if self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None

    def _request(self, message: dict[str, Any], *, doing: str) -> dict[str, Any]:
        self.start()
        self._next_id += 1
        message["id"] = self._next_id
        try:
            self._send(message)
        except OSError:
            self._raise_died(doing)
        response = self._read_line(doing=doing)
        if response.get("id") != self._next_id:
            self._discard_process()
            raise EnvironmentFailure(
                f"the TensorFlow worker in {self.python} answered out of turn while {doing}",
                hint="this is a tfbridge bug; please report it with the model",
            )
        if not response.get("ok"):
            error = response.get("error") or {}
            raise TfbridgeError(
                f"the TensorFlow worker in {self.python} refused {doing}: {error.get('message')}"
            )
        result: dict[str, Any] = response["result"]
        return result

    def _send(self, message: dict[str, Any]) -> None:
        if self._socket is not None:
            self._socket.sendall((json.dumps(message) + "\n").encode("utf-8"))
            return
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(json.dumps(message) + "\n")
        self._process.stdin.flush()

    def _read_line(self, *, doing: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                line = self._responses.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self._discard_process()
                raise WorkerTimeout(
                    f"the TensorFlow worker in {self.python} timed out after "
                    f"{self.timeout:g} s while {doing}",
                    hint="allow more time with a larger timeout, or check that the model "
                    "loads by hand in that environment",
                ) from None
            if line is None:
                self._raise_died(doing)
            if line.strip():
                try:
                    parsed: dict[str, Any] = json.loads(line)
                except json.JSONDecodeError:
                    continue  # not ours; the protocol fd only carries JSON lines
                return parsed

    def _raise_died(self, doing: str) -> NoReturn:
        process = self._process
        code = process.wait() if process is not None else None
        last = _last_error_line(self.stderr_tail())
        if self._socket is not None:
            # It closed our connection: it died (its socket is then gone) or is stopping after
            # another caller, whom killing it would hurt.
            self._hang_up()
        self._discard_process()
        detail = f": {last}" if last else ""
        raise EnvironmentFailure(
            f"the TensorFlow worker in {self.python} died while {doing} ({_describe_exit(code)})"
            + detail,
            hint="if a model crashed TensorFlow itself, load it by hand in that environment "
            "to see the full output; other models can still be checked",
        )


def worker_environment() -> dict[str, str]:
    """The environment a worker runs with: this one, minus what would mislead its Python."""
    env = {k: v for k, v in os.environ.items() if k not in _FOREIGN_PYTHON_VARS}
    env.update({"PYTHONIOENCODING": "utf-8", "PYTHONHASHSEED": "0"})
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    return env


def _pump_lines(stream: IO[str], sink: queue.Queue[str | None]) -> None:
    try:
        for line in stream:
            sink.put(line)
    except (OSError, ValueError):
        pass
    sink.put(None)


def _last_error_line(text: str) -> str:
    """The last line of the worker's log that reports an error, if any (most lines are noise)."""
    lines = [line.strip() for line in text.splitlines() if _ERROR_LINE.match(line.strip())]
    return lines[-1][:300] if lines else ""


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


def decode_array(data: dict[str, Any]) -> numpy.ndarray:
    import numpy

    raw = base64.b64decode(data["npy_b64"])
    array: numpy.ndarray = numpy.load(io.BytesIO(raw), allow_pickle=False)
    return array


def probe_result_from_json(data: dict[str, Any]) -> ProbeResult:
    """A ProbeResult from the worker's `predict_probes` result (for callers of the protocol)."""
    error = data.get("error") or {}
    return ProbeResult(
        load=LoadResult.from_json(data["load"]),
        outputs=[decode_array(o) for o in data.get("outputs") or []],
        output_names=[str(n) for n in data.get("output_names") or []],
        inputs=[ProbeInput.from_json(p) for p in data.get("probes") or []],
        digest=data.get("digest"),
        error_type=error.get("type"),
        error_message=error.get("message"),
        algorithm=data.get("algorithm"),
        nonfinite_layer=data.get("nonfinite_layer"),
    )
