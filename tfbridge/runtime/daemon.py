"""The warm exam worker: one `worker.py --listen` process per environment, outliving one command.

It listens on a Unix socket in the per-user data directory (mode 0600 in a 0700 directory), keyed
to the environment it runs: the interpreter's path plus its environment marker, so a rebuilt
environment gets a new worker and the old one is stopped. It exits by itself after
`TFBRIDGE_WORKER_IDLE` seconds without a caller (15 minutes by default). `TFBRIDGE_NO_DAEMON=1`
makes every command start its own one-shot worker, as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tfbridge.errors import EnvironmentFailure, TfbridgeError
from tfbridge.files import process_alive, regular_file_problem, write_text_atomic
from tfbridge.inenv.client import worker_environment
from tfbridge.inenv.shipping import MARKER, launch_argv, shipment
from tfbridge.progress import Progress

IDLE_ENV_VAR = "TFBRIDGE_WORKER_IDLE"
NO_DAEMON_ENV_VAR = "TFBRIDGE_NO_DAEMON"
DEADLINE_ENV_VAR = "TFBRIDGE_WORKER_DEADLINE"
DEFAULT_IDLE_SECONDS = 900.0
DEFAULT_DEADLINE_SECONDS = 600.0
MARKER_NAME = "tfbridge-env.json"
START_SECONDS_FILE = "last-start.json"
# sockaddr_un holds 108 bytes on Linux, 104 on macOS; a longer path means a one-shot worker.
MAX_SOCKET_PATH = 100
STOP_GRACE_SECONDS = 10.0
_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class DaemonRecord:
    """What `worker status` shows of one warm worker."""

    key: str
    pid: int
    python: str
    started_at: str
    socket: str
    log: str
    start_seconds: float | None = None
    running: bool = False


def daemon_allowed() -> bool:
    return os.environ.get(NO_DAEMON_ENV_VAR, "") in ("", "0")


def idle_seconds() -> float:
    return _seconds(IDLE_ENV_VAR, DEFAULT_IDLE_SECONDS)


def request_deadline() -> float:
    """How long one request (or the wait for a turn) may take the warm worker before it counts
    as hung: it is killed and the request retried once on a fresh worker."""
    return _seconds(DEADLINE_ENV_VAR, DEFAULT_DEADLINE_SECONDS)


def _seconds(variable: str, default: float) -> float:
    text = os.environ.get(variable, "")
    try:
        value = float(text) if text else default
    except ValueError:
        raise TfbridgeError(
            f"{variable}={text!r} is not a number of seconds",
            f"set {variable} to e.g. {default:g}, or unset it",
        ) from None
    return max(1.0, value)


def workers_dir() -> Path:
    from tfbridge.paths import data_home

    return data_home() / "workers"


def environment_identity(python: Path, marker_text: str) -> str:
    """Who a worker is: the interpreter's path (not resolved: a venv's python is a symlink to its
    base), its environment's marker, which changes whenever the environment is rebuilt, and the
    worker's own code (another tfbridge's worker may speak another protocol)."""
    text = f"{os.path.abspath(python)}\0{marker_text}\0"
    return hashlib.sha256(text.encode("utf-8") + shipment()).hexdigest()


def runtime_identity(python: Path) -> str:
    return environment_identity(python, _marker_text(Path(python)))


def _marker_text(python: Path) -> str:
    marker = Path(os.path.abspath(python)).parent.parent / MARKER_NAME
    if regular_file_problem(marker) is not None:
        return ""
    try:
        return marker.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def socket_path(identity: str) -> Path:
    return workers_dir() / f"{identity[:16]}.sock"


def shared_possible(python: Path) -> bool:
    """A warm worker can serve `python`: allowed, and the socket path fits in an address."""
    if sys.platform == "win32":
        return False  # no flock and no private Unix sockets there: one-shot workers
    path = socket_path(runtime_identity(python))
    return daemon_allowed() and len(os.fsencode(path)) <= MAX_SOCKET_PATH


# ---------------------------------------------------------------- connecting


def connect(
    python: Path, timeout: float, progress: Progress | None = None
) -> tuple[socket.socket, DaemonRecord]:
    """A connection to the warm worker of `python`, started (and waited for) when none runs."""
    identity = runtime_identity(python)
    directory = _private_directory()
    path = socket_path(identity)
    with _start_lock(directory / f"{identity[:16]}.lock"):
        record = _read_record(identity)
        connection = _try_connect(path)
        if connection is not None and record is not None:
            return connection, record
        if connection is not None:
            connection.close()
        if record is not None and progress is not None:
            progress(f"the warm exam worker (pid {record.pid}) had stopped; starting a new one")
        _stop_other_generations(Path(python), identity)
        record = _start(Path(python), identity, timeout, progress)
        connection = _try_connect(path)
        if connection is None:
            raise EnvironmentFailure(
                f"the warm exam worker (pid {record.pid}) started but does not answer on {path}",
                hint=f"see its log {record.log}, or set {NO_DAEMON_ENV_VAR}=1",
            )
        return connection, record


def _private_directory() -> Path:
    directory = workers_dir()
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(directory)
    except OSError as error:
        raise EnvironmentFailure(
            f"cannot create {directory}: {error.strerror or error}",
            hint=f"check the data directory's permissions, or set {NO_DAEMON_ENV_VAR}=1",
        ) from error
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise EnvironmentFailure(
            f"{directory} is not a private directory of this user (mode "
            f"{stat.S_IMODE(info.st_mode):o}, owner uid {info.st_uid})",
            hint=f"remove it (tfbridge recreates it with mode 700), or set {NO_DAEMON_ENV_VAR}=1",
        )
    return directory


def socket_problem(path: Path) -> str | None:
    """Why this socket must not be trusted (not ours, or others may use it), or None."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as error:
        return f"cannot be inspected ({error.strerror or error})"
    if not stat.S_ISSOCK(info.st_mode):
        return "is not a socket"
    if info.st_uid != os.getuid():
        return f"is owned by another user (uid {info.st_uid})"
    if info.st_mode & 0o077:
        return f"has mode {stat.S_IMODE(info.st_mode):o}, open to other users (want 600)"
    return None


def _try_connect(path: Path) -> socket.socket | None:
    problem = socket_problem(path)
    if problem is not None:
        raise EnvironmentFailure(
            f"refusing the exam worker socket {path}: it {problem}",
            hint=f"remove {path} (or run `tfbridge worker stop`), or set {NO_DAEMON_ENV_VAR}=1",
        )
    if not os.path.lexists(path):
        return None
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(str(path))
    except OSError:
        connection.close()
        with contextlib.suppress(OSError):
            path.unlink()  # nobody listens: a worker that died left it behind
        return None
    return connection


@contextlib.contextmanager
def _start_lock(path: Path) -> Iterator[None]:
    """Two commands that find no worker start one between them, not two."""
    import fcntl

    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# ---------------------------------------------------------------- starting


def _start(python: Path, identity: str, timeout: float, progress: Progress | None) -> DaemonRecord:
    if not python.exists():
        raise EnvironmentFailure(
            f"no Python interpreter at {python}",
            hint="pass --python with an existing interpreter, or run `tfbridge setup exam`",
        )
    path = socket_path(identity)
    log = path.with_suffix(".log")
    if progress is not None:
        progress(starting_message())
    began = time.monotonic()
    with contextlib.suppress(OSError):
        log.unlink()
    # A new session, no inherited descriptors, nothing of ours for stdout/stderr: the worker
    # never holds a caller's pipes open (pytest and CI wait for those to close). Its stdin
    # carries only its own source, then closes.
    options = ("--listen", str(path), "--idle", str(idle_seconds()))
    with open(log, "ab") as log_file:
        process = subprocess.Popen(
            launch_argv(str(python), *options),
            stdin=subprocess.PIPE,
            stdout=log_file,
            stderr=log_file,
            env=worker_environment(),
            start_new_session=True,
            close_fds=True,
        )
    assert process.stdin is not None
    with contextlib.suppress(OSError), process.stdin:
        process.stdin.write(shipment())
    _wait_until_listening(process, python, path, log, timeout)
    seconds = time.monotonic() - began
    _remember_start_seconds(seconds)
    record = DaemonRecord(
        identity,
        process.pid,
        os.path.abspath(python),
        time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        str(path),
        str(log),
        round(seconds, 2),
        True,
    )
    write_text_atomic(path.with_suffix(".json"), json.dumps(record.__dict__, indent=1) + "\n")
    return record


def _wait_until_listening(
    process: subprocess.Popen[bytes], python: Path, path: Path, log: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while not (os.path.lexists(path) and socket_problem(path) is None):
        code = process.poll()
        if code is not None:
            raise EnvironmentFailure(
                f"TensorFlow does not import in {python}: {_fatal_line(log, code)}",
                hint="run `tfbridge setup exam` to rebuild the exam runtime",
            )
        if time.monotonic() > deadline:
            process.kill()
            raise EnvironmentFailure(
                f"the exam worker did not start within {timeout:g} s",
                hint=f"see its log {log}; a slow disk or machine may need more time",
            )
        time.sleep(_POLL_SECONDS)


def _fatal_line(log: Path, code: int) -> str:
    from tfbridge.inenv.protocol import Fatal, decode_line

    try:
        lines = log.read_bytes().splitlines()
    except OSError:
        lines = []
    for line in reversed(lines):
        with contextlib.suppress(ValueError):  # msgspec's errors are ValueErrors
            fatal = decode_line(line, Fatal)
            return f"{fatal.error.type}: {fatal.error.message}"
    return f"the worker exited with code {code}"


def starting_message() -> str:
    last = last_start_seconds()
    about = f" (about {last:.0f} s)" if last is not None else ""
    return f"starting TensorFlow 2.9{about}"


def last_start_seconds() -> float | None:
    path = workers_dir() / START_SECONDS_FILE
    if regular_file_problem(path) is not None:
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("seconds")
    except (OSError, ValueError, AttributeError, RecursionError):
        return None
    return float(value) if isinstance(value, (int, float)) else None


def _remember_start_seconds(seconds: float) -> None:
    with contextlib.suppress(TfbridgeError):
        path = workers_dir() / START_SECONDS_FILE
        write_text_atomic(path, json.dumps({"seconds": round(seconds, 2)}) + "\n")


def remember_start_seconds(seconds: float) -> None:
    """Record a cold start measured elsewhere (a one-shot worker), for the next estimate."""
    with contextlib.suppress(TfbridgeError, OSError):
        workers_dir().mkdir(mode=0o700, parents=True, exist_ok=True)
        _remember_start_seconds(seconds)


# ---------------------------------------------------------------- status and stop


def list_workers() -> list[DaemonRecord]:
    directory = workers_dir()
    if not directory.is_dir():
        return []
    records = [_read_record_file(path) for path in sorted(directory.glob("*.json"))]
    return [record for record in records if record is not None]


def _read_record(identity: str) -> DaemonRecord | None:
    return _read_record_file(socket_path(identity).with_suffix(".json"))


def _read_record_file(path: Path) -> DaemonRecord | None:
    if path.name == START_SECONDS_FILE or regular_file_problem(path) is not None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["running"] = _is_worker_process(int(data["pid"])) and os.path.lexists(data["socket"])
        return DaemonRecord(**data)
    except (OSError, ValueError, TypeError, KeyError, RecursionError, AttributeError):
        return None


def _is_worker_process(pid: int) -> bool:
    """The pid is alive and still a worker (pids are reused)."""
    if not process_alive(pid):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.exists():
        return True
    try:
        words = cmdline.read_bytes().split(b"\0")
        return b"--listen" in words and any(word.startswith(MARKER) for word in words)
    except OSError:
        return False


def stop_workers(python: Path | None = None) -> list[DaemonRecord]:
    """Stop every warm worker (or those of `python`); return the ones that were running."""
    stopped = []
    for record in list_workers():
        if python is not None and record.python != os.path.abspath(python):
            continue
        if record.running:
            stop_worker(record)
            stopped.append(record)  # stopped, or stopping once its current caller is served
        else:
            _forget(record)
    return stopped


def _stop_other_generations(python: Path, identity: str) -> None:
    """A rebuilt environment's old worker runs the old packages: stop it."""
    for record in list_workers():
        if record.python == os.path.abspath(python) and record.key != identity:
            stop_worker(record, wait=0)


def stop_worker(record: DaemonRecord, wait: float = STOP_GRACE_SECONDS) -> bool:
    """Ask the worker to stop (SIGTERM): its socket goes at once, a caller it is serving is
    served to the end. True when it has exited within `wait` seconds."""
    if record.running:
        with contextlib.suppress(OSError):
            os.kill(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while _is_worker_process(record.pid) and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)
    if _is_worker_process(record.pid):
        return False
    _forget(record)
    return True


def _forget(record: DaemonRecord) -> None:
    socket_file = Path(record.socket)
    heartbeat = Path(f"{socket_file}.alive")
    for path in (socket_file, socket_file.with_suffix(".json"), heartbeat):
        if path.suffix != ".sock" or socket_problem(path) is None:
            with contextlib.suppress(OSError):
                path.unlink()


def kill_worker(record: DaemonRecord) -> None:
    """End a worker that hung or misbehaved, and forget it: the next caller starts a fresh one
    without reporting it as stopped again."""
    if _is_worker_process(record.pid):
        with contextlib.suppress(OSError):
            os.kill(record.pid, signal.SIGKILL)
    _forget(record)


__all__ = [
    "DaemonRecord",
    "connect",
    "daemon_allowed",
    "environment_identity",
    "kill_worker",
    "list_workers",
    "request_deadline",
    "runtime_identity",
    "shared_possible",
    "stop_workers",
]
