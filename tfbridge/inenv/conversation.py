"""A conversation with a worker: lines written to it, lines read back with a deadline.

The one client (tfbridge.inenv.client) speaks the worker protocol over any of these: a local
process's pipes, the warm worker's Unix socket, or a process on the grading machine over SSH
(tfbridge.sync.ssh). Each reads on a thread or its own event loop, so a read can time out.
"""

from __future__ import annotations

import contextlib
import io
import os
import queue
import socket
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import IO, Protocol

from tfbridge.files import regular_file_problem

GRACE_SECONDS = 10.0


class Conversation(Protocol):
    def write(self, data: bytes) -> None:
        """Send bytes (OSError when the other end is gone)."""
        ...

    def readline(self, timeout: float) -> bytes:
        """The next line, b"" once the other end closed; TimeoutError after `timeout` s."""
        ...

    def close(self) -> None:
        """End politely: no more input, then give the other end a moment to finish."""
        ...

    def kill(self) -> None:
        """End now (it hangs or misbehaved)."""
        ...

    def exit_code(self) -> int | None:
        """How the process ended, when that is known (None for a socket, or still running)."""
        ...

    def stderr_tail(self) -> str:
        """The end of what the worker (TensorFlow, models) wrote to stderr, where it is kept."""
        ...


STDERR_TAIL_BYTES = 16_384


def file_tail(path: Path | None, max_bytes: int = STDERR_TAIL_BYTES) -> str:
    if path is None or regular_file_problem(path) is not None:
        return ""
    try:
        with path.open("rb") as log:
            size = log.seek(0, io.SEEK_END)
            log.seek(max(0, size - max_bytes))
            return log.read().decode("utf-8", "replace")
    except OSError:
        return ""


class _LineQueue:
    """Lines pumped from a blocking stream by a thread, read with a deadline."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: IO[bytes]) -> None:
        try:
            for line in stream:
                self._lines.put(line)
        except (OSError, ValueError):
            pass
        self._lines.put(b"")

    def get(self, timeout: float) -> bytes:
        try:
            return self._lines.get(timeout=max(0.0, timeout))
        except queue.Empty:
            raise TimeoutError from None


def spawn(argv: list[str], env: dict[str, str] | None = None) -> PipeConversation:
    """Start a local process spoken to over its stdin and stdout, its stderr kept in a temporary
    log; OSError when it cannot start."""
    handle, name = tempfile.mkstemp(prefix="tfbridge-worker-", suffix=".log")
    os.close(handle)
    log = Path(name)
    try:
        # Append mode: the process's writes never clash with our reads of the same file.
        with log.open("ab") as log_file:
            process = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log_file, env=env
            )
    except OSError:
        log.unlink(missing_ok=True)
        raise
    return PipeConversation(process, log)


class PipeConversation:
    """A local process, spoken to over its stdin and stdout; its stderr goes to `log`, which
    ends with it."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path | None = None) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.process = process
        self.log = log
        self._stdin = process.stdin
        self._lines = _LineQueue(process.stdout)

    def write(self, data: bytes) -> None:
        self._stdin.write(data)
        self._stdin.flush()

    def readline(self, timeout: float) -> bytes:
        return self._lines.get(timeout)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=GRACE_SECONDS)
        self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        if self.log is not None:
            self.log.unlink(missing_ok=True)
            self.log = None

    def exit_code(self) -> int | None:
        try:
            return self.process.wait(timeout=GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            return None

    def stderr_tail(self) -> str:
        return file_tail(self.log)


class SocketConversation:
    """The warm worker, over a connection to its Unix socket; ending it only hangs up. `log` is
    the warm worker's own log, which outlives the conversation."""

    def __init__(self, connection: socket.socket, log: Path | None = None) -> None:
        self._connection = connection
        self.log = log
        self._lines = _LineQueue(connection.makefile("rb"))

    def write(self, data: bytes) -> None:
        self._connection.sendall(data)

    def readline(self, timeout: float) -> bytes:
        return self._lines.get(timeout)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._connection.shutdown(socket.SHUT_RDWR)
        self._connection.close()

    kill = close  # stopping the worker itself is the client's decision (tfbridge.runtime.daemon)

    def exit_code(self) -> int | None:
        return None

    def stderr_tail(self) -> str:
        return file_tail(self.log)
