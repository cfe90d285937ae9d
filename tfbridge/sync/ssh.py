"""An SSH target over ONE asyncssh connection (SFTP for files, exec for checksums and the worker).

Honours the OpenSSH client config (`~/.ssh/config`, or the file in $TFBRIDGE_SSH_CONFIG): host
aliases, users, ports, IdentityFile, UserKnownHostsFile; keys and the agent as OpenSSH would.
Host keys are checked strictly against known_hosts: an unknown host is refused, never trusted.
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import os
import shlex
import signal
import stat
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import asyncssh

from tfbridge.config import Target
from tfbridge.errors import TfbridgeError
from tfbridge.sync.ssh_hasher import Hasher, HasherGone, one_shot_command, parse_digest
from tfbridge.sync.transport import (
    NOT_A_FILE_HINT,
    BytesProgress,
    FileStat,
    RunResult,
    TransportError,
)

SSH_CONFIG_ENV_VAR = "TFBRIDGE_SSH_CONFIG"
CONNECT_TIMEOUT = 20.0
INTERRUPTS = (signal.SIGINT, signal.SIGTERM)
T = TypeVar("T")
# SFTP writes in flight at once: enough to fill the pipe to a machine a few ms away.
PIPELINE_DEPTH = 64
MAX_BLOCK = 256 * 1024
MIN_BLOCK = 32 * 1024  # every SFTP server takes writes this large
STDERR_TAIL_BYTES = 16_384
CONVERSATION_GRACE_SECONDS = 10.0

_LOST = (
    asyncssh.ConnectionLost,
    asyncssh.SFTPConnectionLost,
    asyncssh.SFTPNoConnection,
    asyncssh.DisconnectError,
    BrokenPipeError,
    ConnectionResetError,
    EOFError,
)


class SshTransport:
    def __init__(self, target: Target, *, timeout: float = CONNECT_TIMEOUT) -> None:
        assert target.host is not None
        self.target = target
        self._config = _config_paths()
        self._loop = asyncio.new_event_loop()
        self._conn: Any = None
        self._sftp: Any = None
        self._hasher: Hasher | None = None
        self._hasher_failed = False  # once gone, questions go to one-shot commands
        try:
            self._call(self._open(timeout))
            self.root = self._resolve_root()
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------ connection

    async def _open(self, timeout: float) -> None:
        target = self.target
        try:
            self._conn = await asyncssh.connect(
                target.host,
                port=target.port or (),
                username=target.user or (),
                config=self._config,
                connect_timeout=timeout,
                keepalive_interval=15,
                keepalive_count_max=4,
            )
        except asyncssh.HostKeyNotVerifiable:
            raise self._untrusted_host() from None
        except asyncssh.PermissionDenied:
            raise TransportError(
                f"authentication failed for {self._who()}",
                hint=f"make `ssh {self._who()}` work first (key in IdentityFile or ssh-add it "
                "to your agent; its public key in the far side's authorized_keys)",
            ) from None
        except (OSError, asyncio.TimeoutError, asyncssh.Error) as error:
            reason = getattr(error, "strerror", None) or getattr(error, "reason", None) or error
            raise TransportError(
                f"cannot reach {self._who()}: {reason or type(error).__name__}",
                hint="check that the machine is on, sshd runs there, and the host/port are right",
            ) from None
        self._sftp = await self._conn.start_sftp_client()

    def _resolve_root(self) -> str:
        path = self._expand_home(self.target.path)
        try:
            root: str = self._call(self._sftp.realpath(path))
            info = self.stat(root)
        except TransportError:
            info = None
        if info is None or not info.is_dir:
            raise TransportError(
                f"target directory {self.target.path} does not exist on {self.target.host}",
                hint="create it there (the exam's project directory), or fix [target] dest",
            )
        return root

    def _who(self) -> str:
        user = f"{self.target.user}@" if self.target.user else ""
        port = f" port {self.target.port}" if self.target.port else ""
        return f"{user}{self.target.host}{port}"

    def _untrusted_host(self) -> TransportError:
        host, port = self._resolved_host_port()
        ssh_flags = f"-F {shlex.quote(str(self._config[0]))} " if self._config else ""
        ssh_flags += f"-p {self.target.port} " if self.target.port else ""
        user = f"{self.target.user}@" if self.target.user else ""
        return TransportError(
            f"the host key of {host} (port {port}) is not in your known_hosts: refusing to "
            "connect to an unverified host",
            hint=f"check the key's fingerprint, then run `ssh-keyscan -p {port} {host} >> "
            f"~/.ssh/known_hosts` (or `ssh {ssh_flags}{user}{self.target.host}` once and accept "
            "it); if the key changed, find out why before `ssh-keygen -R`",
        )

    def _resolved_host_port(self) -> tuple[str, int]:
        """The real HostName and Port behind a ~/.ssh/config alias, for the hint."""
        try:
            from asyncssh.config import SSHClientConfig

            config = SSHClientConfig.load(
                None,
                self._config,
                False,
                False,
                False,
                getpass.getuser(),
                self.target.user or (),
                self.target.host,
                self.target.port or (),
            )
            port = self.target.port or config.get("Port", 22)
            return str(config.get("Hostname", self.target.host)), int(str(port))
        except Exception:
            return str(self.target.host), self.target.port or 22

    def _expand_home(self, path: str) -> str:
        """SFTP paths are relative to the login directory, so `~/x` is `x`."""
        if path == "~":
            return "."
        return path[2:] if path.startswith("~/") else path

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run one operation. Ctrl-C or SIGTERM cancels it rather than raising inside asyncssh
        (which would break the connection mid-packet), then interrupts as usual: the connection
        stays usable to remove the half-done upload and release the lock."""
        task = self._loop.create_task(coroutine)
        with _signals_cancel(self._loop, task) as stopped:
            try:
                result = self._loop.run_until_complete(task)
            except asyncio.CancelledError:
                if not stopped:
                    raise
        if stopped:
            _interrupt_as_before(*stopped[0])
        return result

    def _call(self, coroutine: Coroutine[Any, Any, T], action: str = "", path: str = "") -> T:
        try:
            return self._run(coroutine)
        except TransportError:
            raise
        except Exception as error:
            raise self._transport_error(error, action, path) from None

    def _transport_error(self, error: Exception, action: str, path: str) -> TransportError:
        host = self.target.host
        if isinstance(error, _LOST):
            return TransportError(
                f"the connection to {host} was lost"
                + (f" while trying to {action} {path}" if action else ""),
                hint="the slot keeps its previous model; run `tfbridge sync` again",
            )
        if isinstance(error, asyncssh.SFTPPermissionDenied):
            return TransportError(
                f"permission denied on {host}: cannot {action} {path}",
                hint="fix that directory's owner or permissions on the grading machine",
            )
        if isinstance(error, (asyncssh.SFTPNoSpaceOnFilesystem, asyncssh.SFTPQuotaExceeded)):
            return TransportError(
                f"no space left on {host} to {action} {path}",
                hint="free some space on the grading machine",
            )
        reason = getattr(error, "reason", None) or str(error) or type(error).__name__
        return TransportError(f"cannot {action or 'talk to'} {path or host} on {host}: {reason}")

    # ------------------------------------------------------------ Transport

    def describe(self, path: str) -> str:
        return f"{self.target.host}:{path}"

    def stat(self, path: str) -> FileStat | None:
        try:
            attrs = self._run(self._sftp.lstat(path))
        except asyncssh.SFTPNoSuchFile:
            return None
        except Exception as error:
            raise self._transport_error(error, "inspect", path) from None
        mode = attrs.permissions or 0
        return FileStat(
            size=attrs.size or 0,
            is_dir=stat.S_ISDIR(mode),
            is_file=stat.S_ISREG(mode),
            is_link=stat.S_ISLNK(mode),
            mtime=attrs.mtime,
        )

    def listdir(self, directory: str) -> list[str]:
        names = self._call(self._sftp.listdir(directory), "list", directory)
        return sorted(str(name) for name in names if name not in {".", ".."})

    def mkdir(self, directory: str) -> None:
        info = self.stat(directory)
        if info is not None and info.is_dir:
            return
        self._call(self._sftp.mkdir(directory), "create", directory)

    def realpath(self, path: str) -> str:
        return str(self._call(self._sftp.realpath(path), "resolve", path))

    def put(self, local: str, remote: str, progress: BytesProgress | None = None) -> str:
        self._start_hasher()  # the upload's checksum is asked next: its shell starts meanwhile
        try:
            return self._call(self._send(local, remote, progress), "upload to", remote)
        except TransportError as error:
            if not error.hint:  # a bare SFTP "Failure" while writing is most often a full disk
                error.hint = "is the disk full there? the slot keeps its previous model"
            raise

    async def _send(self, local: str, remote: str, progress: BytesProgress | None) -> str:
        """Write `local` to `remote` with up to PIPELINE_DEPTH writes in flight (one at a time
        waits a round trip per block), hashing each block as it is read: one read of the file."""
        limit = self._sftp.limits.max_write_len
        block = min(limit, MAX_BLOCK) if limit > 0 else MIN_BLOCK
        total = os.path.getsize(local)
        sent = [0]
        digest = hashlib.sha256()
        # block_size=0: each write is one request, with no helper tasks of asyncssh's own that
        # would outlive a cancelled upload
        async with self._sftp.open(remote, "wb", block_size=0) as handle:
            in_flight: set[asyncio.Future[Any]] = set()
            try:
                with open(local, "rb") as source:
                    offset = 0
                    while chunk := source.read(block):
                        digest.update(chunk)
                        if len(in_flight) >= PIPELINE_DEPTH:
                            in_flight = await _first_done(in_flight)
                        write = asyncio.ensure_future(handle.write(chunk, offset))
                        write.add_done_callback(_counter(sent, len(chunk), total, progress))
                        in_flight.add(write)
                        offset += len(chunk)
                while in_flight:
                    in_flight = await _first_done(in_flight)
            finally:
                for write in in_flight:  # stopped: no write may land after the temp is removed
                    write.cancel()
        return digest.hexdigest()

    def sha256(self, path: str) -> str:
        digest = self.sha256_many([path])[path]
        if digest is None:  # sha256sum on a FIFO would never return
            raise TfbridgeError(f"{self.describe(path)}: not a regular file", hint=NOT_A_FILE_HINT)
        return digest

    def sha256_many(self, paths: list[str]) -> dict[str, str | None]:
        """Every file's SHA-256 in one question to the far side (see ssh_hasher.py); None for
        what is not a regular file."""
        if not paths:
            return {}
        answers = self._ask_hasher(paths) or self._ask_once(paths)
        digests: dict[str, str | None] = {}
        for path, answer in zip(paths, answers, strict=True):
            try:
                digests[path] = parse_digest(answer)
            except ValueError:
                raise _no_hasher(self.target.host, path) from None
        return digests

    def _ask_hasher(self, paths: list[str]) -> list[str] | None:
        """The running hasher's answers; None when there is none (or it cannot take these
        paths), after which it is not asked again."""
        if any("\n" in path for path in paths):
            return None
        hasher = self._start_hasher()
        if hasher is None:
            return None
        try:
            return self._run(hasher.digests(paths))
        except HasherGone:
            self._drop_hasher()
            return None
        except Exception as error:
            self._drop_hasher()
            raise self._transport_error(error, "checksum", paths[0]) from None
        except BaseException:  # stopped mid-answer: its next answers would be out of step
            self._drop_hasher()
            raise

    def _ask_once(self, paths: list[str]) -> list[str]:
        result = self._run_shell(one_shot_command(paths), b"", None)
        lines = result.stdout.decode(errors="replace").splitlines()[-len(paths) :]
        if result.exit_status != 0 or len(lines) != len(paths):
            raise _no_hasher(self.target.host)
        return lines

    def _start_hasher(self) -> Hasher | None:
        """The hasher, started on first need: sshd runs it through the user's login shell, which
        a no-op re-sync whose stamps match (stamps.py) never waits for."""
        if self._hasher is None and not self._hasher_failed and not self._loop.is_closed():

            async def start() -> Hasher:
                return Hasher(self._conn)

            self._hasher = self._run(start())
        return self._hasher

    def _drop_hasher(self) -> None:
        if self._hasher is not None:
            self._hasher.close()
            self._hasher = None
            self._hasher_failed = True

    def rename(self, source: str, destination: str) -> None:
        self._call(self._sftp.posix_rename(source, destination), "rename", source)

    def set_mtime(self, path: str, seconds: int) -> None:
        self._call(self._sftp.utime(path, (seconds, seconds)), "set the time of", path)

    def link(self, source: str, destination: str) -> None:
        try:
            self._run(self._sftp.link(source, destination))
            return
        except (asyncssh.SFTPOpUnsupported, asyncssh.SFTPFailure):
            pass  # no hard links there (or across devices): copy on the far side instead
        except Exception as error:
            raise self._transport_error(error, "link", source) from None
        result = self._run_shell(f"cp {shlex.quote(source)} {shlex.quote(destination)}", b"", None)
        if result.exit_status != 0:
            raise TransportError(
                f"cannot copy {source} on {self.target.host}: "
                f"{result.stderr.decode(errors='replace').strip()}"
            )

    def remove(self, path: str) -> None:
        self._call(self._sftp.remove(path), "remove", path)

    def free_bytes(self, directory: str) -> int | None:
        try:
            attrs = self._run(self._sftp.statvfs(directory))
        except (asyncssh.SFTPOpUnsupported, asyncssh.SFTPFailure):
            return None
        except Exception as error:
            raise self._transport_error(error, "inspect", directory) from None
        return int(attrs.bavail * attrs.frsize)

    # ------------------------------------------------ the target lock (see lock.py)

    def make_directory(self, directory: str) -> bool:
        """mkdir that fails when `directory` exists (atomic on the far side): True if made."""
        try:
            self._run(self._sftp.mkdir(directory))
            return True
        except (asyncssh.SFTPFailure, asyncssh.SFTPFileAlreadyExists) as error:
            if self.stat(directory) is not None:
                return False
            raise self._transport_error(error, "create", directory) from None
        except Exception as error:
            raise self._transport_error(error, "create", directory) from None

    def remove_directory(self, directory: str) -> None:
        self._call(self._sftp.rmdir(directory), "remove", directory)

    def write_small(self, path: str, data: bytes) -> None:
        async def write() -> None:
            async with self._sftp.open(path, "wb") as handle:
                await handle.write(data)

        self._call(write(), "write", path)

    def read_small(self, path: str, limit: int) -> bytes | None:
        """Up to `limit` bytes of a file; None when it does not exist."""

        async def read() -> bytes:
            async with self._sftp.open(path, "rb") as handle:
                return bytes(await handle.read(limit))

        try:
            return self._run(read())
        except asyncssh.SFTPNoSuchFile:
            return None
        except Exception as error:
            raise self._transport_error(error, "read", path) from None

    def converse(self, argv: list[str]) -> SshConversation:
        program = argv[0]
        if program.startswith("~/"):
            program = '"$HOME"/' + shlex.quote(program[2:])
        else:
            program = shlex.quote(program)
        command = " ".join([program, *(shlex.quote(arg) for arg in argv[1:])])

        async def start() -> Any:
            return await self._conn.create_process(command, encoding=None)

        return SshConversation(self, self._call(start(), "run", argv[0]))

    def _run_shell(self, command: str, stdin: bytes, timeout: float | None) -> RunResult:
        try:
            done = self._call(
                self._conn.run(command, input=stdin, encoding=None, timeout=timeout),
                "run",
                command,
            )
        except TransportError:
            raise
        return RunResult(
            int(done.exit_status or 0), bytes(done.stdout or b""), bytes(done.stderr or b"")
        )

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._drop_hasher()
            if self._sftp is not None:
                self._sftp.exit()
            if self._conn is not None:
                self._conn.close()
                self._loop.run_until_complete(self._conn.wait_closed())
        except Exception:
            pass  # closing a dead connection: nothing left to save
        finally:
            self._loop.close()


class SshConversation:
    """A far-side process spoken to line by line over its stdin/stdout (the runtime worker:
    tfbridge.inenv.conversation.Conversation); the end of its stderr is kept for messages."""

    def __init__(self, transport: SshTransport, process: Any) -> None:
        self._transport = transport
        self._process = process
        self._stderr = b""
        self._keeping = transport._loop.create_task(self._keep_stderr())

    async def _keep_stderr(self) -> None:
        while chunk := await self._process.stderr.read(STDERR_TAIL_BYTES):
            self._stderr = (self._stderr + chunk)[-STDERR_TAIL_BYTES:]

    def write(self, data: bytes) -> None:
        if self._process.stdin.is_closing():
            raise BrokenPipeError
        self._process.stdin.write(data)

    def readline(self, timeout: float) -> bytes:
        try:
            read = asyncio.wait_for(self._process.stdout.readline(), max(0.0, timeout))
            return bytes(self._transport._run(read))
        except asyncio.TimeoutError:
            raise TimeoutError from None
        except (*_LOST, asyncssh.Error):
            return b""

    def close(self) -> None:
        with suppress(*_LOST, asyncssh.Error, OSError):
            self._process.stdin.write_eof()
            waited = asyncio.wait_for(self._process.wait_closed(), CONVERSATION_GRACE_SECONDS)
            self._transport._run(waited)
        self.kill()

    def kill(self) -> None:
        self._process.close()
        self._keeping.cancel()

    def exit_code(self) -> int | None:
        status = self._process.exit_status
        return None if status is None or status < 0 else int(status)

    def stderr_tail(self) -> str:
        return self._stderr.decode("utf-8", "replace")


@contextmanager
def _signals_cancel(
    loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]
) -> Iterator[list[tuple[int, Any]]]:
    """While the block runs, SIGINT/SIGTERM cancel `task` (a second one interrupts at once);
    yields the signals caught, each with the handler it displaced."""
    stopped: list[tuple[int, Any]] = []
    if threading.current_thread() is not threading.main_thread():
        yield stopped
        return
    previous: dict[int, Any] = {signum: signal.getsignal(signum) for signum in INTERRUPTS}

    def cancel(signum: int, frame: FrameType | None) -> None:
        if stopped:
            _interrupt_as_before(signum, previous[signum])
        stopped.append((signum, previous[signum]))
        loop.call_soon_threadsafe(task.cancel)

    for signum, handler in previous.items():
        if callable(handler):  # Python's or the CLI's handler; SIG_DFL and SIG_IGN stay as they are
            signal.signal(signum, cancel)
    try:
        yield stopped
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def _interrupt_as_before(signum: int, handler: Any) -> None:
    """Do what the displaced handler does (the CLI's prints its line), then KeyboardInterrupt."""
    if callable(handler):
        handler(signum, None)
    raise KeyboardInterrupt


async def _first_done(in_flight: set[asyncio.Future[Any]]) -> set[asyncio.Future[Any]]:
    """Wait for at least one write; raise its error, if any. Returns those still in flight."""
    done, pending = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
    for write in done:
        write.result()
    return set(pending)


def _counter(
    sent: list[int], size: int, total: int, progress: BytesProgress | None
) -> Callable[[asyncio.Future[Any]], None]:
    def count(write: asyncio.Future[Any]) -> None:
        if not write.cancelled() and write.exception() is None:
            sent[0] += size
            if progress:
                progress(sent[0], total)

    return count


def _no_hasher(host: str | None, path: str = "") -> TransportError:
    return TransportError(
        f"cannot checksum {path or 'the models'} on {host}",
        hint="the grading machine needs `openssl`, `sha256sum` or `shasum` on its PATH",
    )


def _config_paths() -> list[Path] | tuple[()]:
    """The ssh config to honour: $TFBRIDGE_SSH_CONFIG, else asyncssh's default ~/.ssh/config."""
    override = os.environ.get(SSH_CONFIG_ENV_VAR)
    return [Path(override).expanduser()] if override else ()
