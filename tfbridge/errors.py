"""The one error type tfbridge raises for the user: what went wrong, and what to do next.

Exit codes, the same for every command:
0 all good; 1 something checked is not OK (a model fails, a slot was not sent);
2 usage error or unreadable input; 3 the environment or the connection failed
(uv, network, SSH, a worker that died or timed out).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ENVIRONMENT = 3

EXIT_CODES_HELP = (
    "Exit codes: 0 all good; 1 something checked is not OK; 2 usage error or unreadable input; "
    "3 the environment or connection failed."
)


class TfbridgeError(Exception):
    """An error written for the user.

    `message` says what is wrong (naming the file or thing); `hint` says how to fix it.
    The CLI prints both on one line and exits with `exit_code` (see the table above).
    """

    def __init__(self, message: str, hint: str = "", exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code

    def one_line(self) -> str:
        text = self.message.rstrip(".") + "."
        if self.hint:
            hint = self.hint.rstrip(".")
            text += " " + hint[:1].upper() + hint[1:] + "."
        return " ".join(text.split())


class EnvironmentFailure(TfbridgeError):
    """uv, the network, SSH or a worker failed us: not the user's input (exit 3)."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message, hint=hint, exit_code=EXIT_ENVIRONMENT)
