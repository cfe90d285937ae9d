"""SHA-256 of far-side files over SSH, without paying a login shell per question.

sshd runs every command through the user's login shell, whose start-up files (pyenv, conda) can
take longer than hashing a model. So one hasher starts on first need (an upload starts it, so its
shell starts while the model is sent; a no-op whose stamps match never starts it), and then
answers each batch of paths at once: one line per path, its digest or `-` when it is not
a regular file (never opened: a FIFO would hang it). Whatever the start-up files print comes before
the ready line and is skipped.
"""

from __future__ import annotations

import asyncio
import shlex
from typing import Any

NOT_A_FILE = "-"
READY = b"tfbridge-hasher-ready"
# openssl first: it uses the CPU's SHA instructions, where coreutils' sha256sum takes 2-3 times
# as long.
_HASH_FUNCTION = (
    'h() { openssl dgst -sha256 -r "$1" 2>/dev/null || sha256sum "$1" 2>/dev/null'
    ' || shasum -a 256 "$1" 2>/dev/null; }; '
    'answer() { if [ -f "$1" ]; then d=$(h "$1") || d="?"; d=${d#\\\\}; printf "%s\\n" "${d%% *}"; '
    "else echo -; fi; }; "
)  # (`${d#\\}`: the hashers mark a name with a newline by a leading backslash)
# Paths as arguments: for a path holding a newline, which the line-based hasher cannot read.
ONE_SHOT = _HASH_FUNCTION + 'for f; do answer "$f"; done'
_LOOP = _HASH_FUNCTION + f"echo {READY.decode()}; " + 'while IFS= read -r f; do answer "$f"; done'


class HasherGone(Exception):
    """The hasher did not start or stopped answering: ask with a one-shot command instead."""


def one_shot_command(paths: list[str]) -> str:
    return " ".join(["sh", "-c", shlex.quote(ONE_SHOT), "sh", *map(shlex.quote, paths)])


def parse_digest(line: str) -> str | None:
    """A hasher's answer: the digest, None for not a regular file; ValueError when it could not
    hash (no openssl, sha256sum or shasum)."""
    if line == NOT_A_FILE:
        return None
    if len(line) == 64 and all(c in "0123456789abcdef" for c in line):
        return line
    raise ValueError(line)


class Hasher:
    """One long-lived hashing process on the far side of `connection`."""

    def __init__(self, connection: Any) -> None:
        self._starting: asyncio.Task[Any] = asyncio.ensure_future(self._start(connection))

    @staticmethod
    async def _start(connection: Any) -> Any:
        process = await connection.create_process(f"sh -c {shlex.quote(_LOOP)}", encoding=None)
        while (line := await process.stdout.readline()) and line.rstrip(b"\n") != READY:
            pass  # what the login shell's start-up files print
        if not line:
            raise HasherGone
        return process

    async def digests(self, paths: list[str]) -> list[str]:
        """One answer line per path, in order."""
        try:
            process = await self._starting
        except asyncio.CancelledError:
            raise
        except Exception:
            raise HasherGone from None
        process.stdin.write(b"".join(path.encode() + b"\n" for path in paths))
        answers = []
        for _ in paths:
            line = await process.stdout.readline()
            if not line:
                raise HasherGone
            answers.append(line.decode(errors="replace").rstrip("\n"))
        return answers

    def close(self) -> None:
        if not self._starting.done():
            self._starting.cancel()
        elif not self._starting.cancelled() and self._starting.exception() is None:
            self._starting.result().close()
