"""The one error type tfbridge raises for the user: what went wrong, and what to do next."""

from __future__ import annotations

EXIT_FAILED = 1
EXIT_USAGE = 2


class TfbridgeError(Exception):
    """An error written for the user.

    `message` says what is wrong (naming the file or thing); `hint` says how to fix it.
    The CLI prints both on one line and exits with `exit_code` (2 = usage or unreadable input,
    1 = the thing checked is not OK).
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
