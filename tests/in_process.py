"""Run the real CLI entry point (`tfbridge.cli.main.run`) inside the test process.

A fresh interpreter per command costs about 0.3 s of imports; most tests only look at what a
command printed, its exit code and the files it left, which do not depend on the process. So
they run `run()` here, as `python -m tfbridge ARGS` would: `sys.argv`, the environment and the
working directory set for the call; file descriptors 1 and 2 captured (so a child process's
output is captured too); the signal handlers, warning filters and environment put back after.
What only a real process shows (a traceback the interpreter prints, signals, leftover processes,
start-up imports) stays with `tests.conftest.run_tfbridge(..., process=True)`.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

# As in a fresh interpreter (CPython's default warning filters): a command's own warnings show.
_DEFAULT_FILTERS: tuple[tuple[str, type[Warning], str], ...] = (
    ("default", DeprecationWarning, "__main__"),
    ("ignore", DeprecationWarning, ""),
    ("ignore", PendingDeprecationWarning, ""),
    ("ignore", ImportWarning, ""),
    ("ignore", ResourceWarning, ""),
)


_INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


class _TimedOut(BaseException):
    """Raised by SIGALRM inside the command: a BaseException, so that no `except Exception` in
    the CLI (which reports internal errors) swallows it."""


def can_run_in_process() -> bool:
    """Signal handlers can be set only in the main thread (threads run real processes)."""
    return threading.current_thread() is threading.main_thread()


def run_in_process(
    args: Sequence[str],
    env: Mapping[str, str],
    cwd: Path | None,
    timeout: float,
    errors: str = "strict",
) -> subprocess.CompletedProcess[str]:
    """`python -m tfbridge ARGS` in this process, with `env` as the whole environment; its
    output decoded as UTF-8 with `errors`. Raises subprocess.TimeoutExpired, as subprocess.run
    does, when it takes longer than `timeout`."""
    argv = ["tfbridge", *args]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        with _redirected(1, out), _redirected(2, err), _process_state(env, cwd, argv):
            code = _exit_code_of_run(timeout, argv)
        return subprocess.CompletedProcess(argv, code, _decoded(out, errors), _decoded(err, errors))


def _exit_code_of_run(timeout: float, argv: list[str]) -> int:
    from tfbridge.cli.main import run

    try:
        with _alarm(timeout):
            run()
    except SystemExit as done:
        return _exit_status(done.code)
    except _TimedOut:
        raise subprocess.TimeoutExpired(argv, timeout) from None
    except KeyboardInterrupt:
        raise
    except BaseException:  # the interpreter prints what escapes and exits 1
        traceback.print_exc()
        return 1
    return 0


def _exit_status(code: object) -> int:
    """What the interpreter makes of `sys.exit(code)`."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: object) -> None:
        raise _TimedOut

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def _redirected(fd: int, capture: IO[bytes]) -> Iterator[None]:
    """Point file descriptor `fd` at `capture` for the block."""
    saved = os.dup(fd)
    os.dup2(capture.fileno(), fd)
    try:
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


@contextmanager
def _process_state(env: Mapping[str, str], cwd: Path | None, argv: list[str]) -> Iterator[None]:
    """sys.argv/stdin/stdout/stderr, the environment, the working directory, the SIGINT and
    SIGTERM handlers and the warning filters as a new `python -m tfbridge` has them."""
    saved_streams = (sys.stdin, sys.stdout, sys.stderr)
    saved_argv, saved_env, saved_cwd = sys.argv, dict(os.environ), os.getcwd()
    saved_handlers = {signum: signal.getsignal(signum) for signum in _INTERRUPTS}
    stdin, stdout, stderr = open(os.devnull), _text_stream(1), _text_stream(2)  # noqa: SIM115
    try:
        sys.stdin, sys.stdout, sys.stderr = stdin, stdout, stderr
        sys.argv = argv
        _set_environment(env)
        if cwd is not None:
            os.chdir(cwd)
        with warnings.catch_warnings():
            warnings.resetwarnings()
            for action, category, module in _DEFAULT_FILTERS:
                warnings.filterwarnings(action, category=category, module=module)  # type: ignore[arg-type]
            yield
    finally:
        for stream in (stdin, stdout, stderr):
            stream.close()  # flushes what the command left buffered
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        sys.argv = saved_argv
        os.chdir(saved_cwd)
        _set_environment(saved_env)
        for signum, handler in saved_handlers.items():
            signal.signal(signum, handler)


def _set_environment(env: Mapping[str, str]) -> None:
    """Make os.environ equal `env`, touching only what differs (threads of the test may be
    starting processes that inherit it meanwhile)."""
    for name in set(os.environ) - set(env):
        del os.environ[name]
    for name, value in env.items():
        if os.environ.get(name) != value:
            os.environ[name] = value


def _text_stream(fd: int) -> io.TextIOWrapper:
    """A text stream on `fd` encoding as this interpreter's own stdout does (UTF-8, with
    surrogateescape under a C.UTF-8 locale), flushed line by line so that output written
    around a child process's keeps its order."""
    original: Any = sys.__stdout__
    return io.TextIOWrapper(
        os.fdopen(os.dup(fd), "wb"),
        encoding=getattr(original, "encoding", None) or "utf-8",
        errors=getattr(original, "errors", None) or "strict",
        line_buffering=True,
    )


def _decoded(capture: IO[bytes], errors: str) -> str:
    """As subprocess.run(text=True) decodes a child's output."""
    capture.seek(0)
    return capture.read().decode("utf-8", errors)


def child_processes(skip_threads_named: str = "") -> set[int]:
    """The child processes of this process (Linux), but for those started by threads whose name
    starts with `skip_threads_named` (they run other tests' processes meanwhile): to see what a
    command left running."""
    skipped = {
        thread.native_id
        for thread in threading.enumerate()
        if skip_threads_named and thread.name.startswith(skip_threads_named)
    }
    children: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        if int(task.name) in skipped:
            continue
        try:
            children.update(int(pid) for pid in (task / "children").read_text().split())
        except OSError:
            continue  # a thread that ended meanwhile
    return children
