"""Registering a profile's environment as a Jupyter kernel."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from tfbridge.envs.interpreters import probe
from tfbridge.envs.uvtool import run_uv
from tfbridge.errors import TfbridgeError
from tfbridge.files import write_text_atomic


def kernels_dir() -> Path:
    override = os.environ.get("JUPYTER_DATA_DIR")
    if override:
        return Path(override) / "kernels"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Jupyter" / "kernels"
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home())) / "jupyter" / "kernels"
    data = os.environ.get("XDG_DATA_HOME")
    return (Path(data) if data else Path.home() / ".local" / "share") / "jupyter" / "kernels"


def register_kernel(profile: str, python: Path) -> Path:
    """Install ipykernel into the env (it is not part of the exam pins) and write a kernel spec."""
    run_uv(
        ["pip", "install", "--quiet", "--python", python, "ipykernel"],
        what=f"installing ipykernel into the '{profile}' environment",
    )
    spec_dir = kernels_dir() / f"tfbridge-{profile}"
    try:
        spec_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TfbridgeError(
            f"cannot create the Jupyter kernel folder {spec_dir}: {error.strerror or error}",
            "set JUPYTER_DATA_DIR to a folder you can write to",
        ) from None
    spec = {
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"tfbridge {profile} (Python {profile_python(python)})",
        "language": "python",
    }
    write_text_atomic(spec_dir / "kernel.json", json.dumps(spec, indent=2) + "\n")
    return spec_dir


def profile_python(python: Path) -> str:
    found = probe(python)
    return found.version if found else "?"
