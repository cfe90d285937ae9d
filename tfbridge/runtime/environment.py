"""Which interpreter runs the worker: --python, a --profile, or this machine's default profile."""

from __future__ import annotations

import sys
from pathlib import Path

from tfbridge.envs import default_profile_name, detect, ready_python
from tfbridge.errors import TfbridgeError


def runtime_python(python: Path | None = None, profile: str | None = None) -> Path:
    """`python` if given (an interpreter or an environment directory), else the ready interpreter
    of `profile`, else of this machine's default profile ("metal" on Apple Silicon, else "exam")."""
    if python is not None and profile is not None:
        raise TfbridgeError("give either --python or --profile, not both")
    if python is not None:
        return _interpreter(python)
    if profile is None:
        profile = default_profile_name(detect())
    return ready_python(profile)


def _interpreter(python: Path) -> Path:
    candidate = Path(python).expanduser()
    if candidate.is_dir():
        candidate = candidate / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    if not candidate.is_file():
        raise TfbridgeError(
            f"no Python interpreter at {python}",
            hint="pass --python with the interpreter (or environment) that trained the model",
        )
    return candidate
