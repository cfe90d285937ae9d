"""Running uv: the binary shipped by the `uv` package (a dependency), else one on PATH."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from tfbridge.errors import TfbridgeError

_OFFLINE_MARKERS = (
    "failed to fetch",
    "dns error",
    "connection refused",
    "network is unreachable",
    "error sending request",
    "failed to download",
    "network connectivity is disabled",
)


def uv_binary() -> str:
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return found
    raise TfbridgeError(
        "uv is not installed", "reinstall tfbridge (`pip install tfbridge`), which brings uv"
    )


def run_uv(args: Sequence[str | Path], *, what: str, cwd: Path | None = None) -> str:
    """Run `uv ARGS`; on failure raise a one-line TfbridgeError saying `what` failed and why."""
    done = subprocess.run(
        [uv_binary(), *map(str, args)], capture_output=True, text=True, cwd=cwd, check=False
    )
    if done.returncode != 0:
        raise TfbridgeError(*_explain_failure(what, done.stderr))
    return done.stdout


def _explain_failure(what: str, stderr: str) -> tuple[str, str]:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    lowered = stderr.lower()
    if any(marker in lowered for marker in _OFFLINE_MARKERS):
        return (
            f"{what} failed: PyPI could not be reached",
            "check the network connection (packages come from PyPI) and run the command again",
        )
    detail = next((line for line in lines if "error" in line.lower()), lines[-1] if lines else "")
    return (
        f"{what} failed: {detail.removeprefix('error: ')}",
        "run again with a working network; if it persists, report the message above",
    )
