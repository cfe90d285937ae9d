"""The real SSH transport, counting what it asks of the far side."""

from __future__ import annotations

from tfbridge.config import Target
from tfbridge.sync.ssh import SshTransport
from tfbridge.sync.transport import RunResult


class CountingSsh(SshTransport):
    """The real SSH transport, recording each command it runs on the far side and each question
    to its hasher."""

    def __init__(self, target: Target) -> None:
        self.commands: list[str] = []
        self.questions: list[list[str]] = []
        super().__init__(target)

    def _run_shell(self, command: str, stdin: bytes, timeout: float | None) -> RunResult:
        self.commands.append(command)
        return super()._run_shell(command, stdin, timeout)

    def _ask_hasher(self, paths: list[str]) -> list[str] | None:
        self.questions.append(paths)
        return super()._ask_hasher(paths)
