"""Running uv: the binary shipped by the `uv` package (a dependency), else one on PATH."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from tfbridge.errors import EnvironmentFailure, TfbridgeError

_OFFLINE_MARKERS = (
    "failed to fetch",
    "dns error",
    "connection refused",
    "network is unreachable",
    "error sending request",
    "network connectivity is disabled",
    "timed out",
)
_MAX_DETAIL = 400


def uv_binary() -> str:
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return found
    raise EnvironmentFailure(
        "uv is not installed", "reinstall tfbridge (`pip install tfbridge`), which brings uv"
    )


def run_uv(args: Sequence[str | Path], *, what: str, cwd: Path | None = None) -> str:
    """Run `uv ARGS`; on failure raise a one-line EnvironmentFailure saying `what` failed, in uv's
    own words."""
    command = [uv_binary(), *map(str, args)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, errors="replace", cwd=cwd, check=False
        )
    except OSError as error:
        raise EnvironmentFailure(
            f"{what} failed: uv ({command[0]}) did not start: {error.strerror or error}",
            "reinstall tfbridge (`pip install tfbridge`), which brings uv",
        ) from None
    if done.returncode != 0:
        raise explain_failure(what, done.stderr)
    return done.stdout


def explain_failure(what: str, stderr: str) -> TfbridgeError:
    """The one-line error for a failed uv run: its `error:` and `cause:` lines, and what to do.
    Unsatisfiable requirements are the profile's fault (exit 2); anything else is uv, the network
    or the machine failing (exit 3)."""
    said = uv_said(stderr)
    lowered = said.lower()
    if "no solution found" in lowered:
        return TfbridgeError(
            f"{what} failed: {said}",
            "the profile's pins cannot be installed together: fix the pip: list of its envs/*.yml",
        )
    if "no space left on device" in lowered:
        return EnvironmentFailure(
            f"{what} failed: the disk is full ({said})",
            "free some disk space (uv keeps its cache in `uv cache dir`) and run the command again",
        )
    if "hash mismatch" in lowered:
        return EnvironmentFailure(
            f"{what} failed: {said}",
            "the lock's sha256 is not that of the file PyPI serves: restore the lock from git, "
            "or regenerate it with `tfbridge lock`",
        )
    if any(marker in lowered for marker in _OFFLINE_MARKERS):
        return EnvironmentFailure(
            f"{what} failed: PyPI could not be reached ({said})",
            "check the network connection (packages come from PyPI) and run the command again",
        )
    return EnvironmentFailure(
        f"{what} failed: {said}",
        "run `tfbridge doctor`; if the message above persists, report it",
    )


def uv_said(stderr: str) -> str:
    """uv's error in one line: its `error:` line and each `cause:` under it, joined."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if line.startswith("error:")), None)
    if start is None:
        return lines[-1][:_MAX_DETAIL] if lines else "uv gave no reason"
    parts = [lines[start].removeprefix("error:").strip()]
    parts += [
        line.removeprefix("cause:").strip()
        for line in lines[start + 1 :]
        if line.startswith("cause:")
    ]
    return ": ".join(parts)[:_MAX_DETAIL]
