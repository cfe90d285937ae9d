"""Finding a Python interpreter of a given X.Y version: --python, else a uv-managed Python (as
`uv python find --managed-python` names it), else pyenv's versions, python.org framework builds,
Homebrew, then PATH.

uv is asked about its own Pythons only: on PATH it runs pyenv's shims, which take about 0.5 s and
fail for every version not active in pyenv, so uv gives up at the first one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tfbridge.envs.uvtool import run_uv
from tfbridge.errors import EnvironmentFailure, TfbridgeError

DOWNLOADS_ENV_VAR = "UV_PYTHON_DOWNLOADS"
_PROBE = (
    "import json, platform, sys; "
    "version = '%d.%d.%d' % sys.version_info[:3]; "
    "print(json.dumps({'version': version, 'machine': platform.machine()}))"
)


@dataclass(frozen=True)
class Interpreter:
    path: Path
    version: str  # X.Y.Z
    machine: str

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])


def probe(path: Path) -> Interpreter | None:
    """Ask an interpreter for its version and architecture; None if it does not run."""
    try:
        done = subprocess.run(
            [str(path), "-c", _PROBE], capture_output=True, text=True, timeout=30, check=False
        )
        facts = json.loads(done.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    if done.returncode != 0:
        return None
    return Interpreter(path=path, version=facts["version"], machine=facts["machine"])


def find_interpreter(
    version: str, *, explicit: Path | None = None, machine: str | None = None
) -> Interpreter:
    """The first interpreter of Python `version` (X.Y) for `machine` (when given)."""
    if explicit is not None:
        return _check_explicit(explicit, version, machine)
    seen: set[Path] = set()
    for candidate in candidate_paths(version):
        resolved = candidate.resolve()
        if resolved in seen or not candidate.is_file():
            continue
        seen.add(resolved)
        found = probe(candidate)
        if found and found.minor == version and (machine is None or found.machine == machine):
            return found
    raise EnvironmentFailure(
        f"no Python {version} interpreter found (looked at --python, uv-managed Pythons, pyenv, "
        "python.org and Homebrew installs, and PATH)",
        f"install one with `uv python install {version}` (online), or pass --python PATH",
    )


def _check_explicit(path: Path, version: str, machine: str | None) -> Interpreter:
    found = probe(path)
    if found is None:
        raise TfbridgeError(
            f"--python {path} does not run", "pass the path of a working python executable"
        )
    if found.minor != version:
        raise TfbridgeError(
            f"--python {path} is Python {found.version}, the profile needs {version}",
            f"pass a Python {version} interpreter, or `uv python install {version}`",
        )
    if machine is not None and found.machine != machine:
        raise TfbridgeError(
            f"--python {path} is a {found.machine} build, the profile needs {machine}",
            f"pass a native {machine} Python {version}",
        )
    return found


def candidate_paths(version: str) -> Iterator[Path]:
    home = Path.home()
    yield from uv_python_find(version)
    pyenv_root = Path(os.environ.get("PYENV_ROOT", home / ".pyenv"))
    yield from sorted(
        (pyenv_root / "versions").glob(f"{version}.*/bin/python{version}"), reverse=True
    )
    yield Path(f"/Library/Frameworks/Python.framework/Versions/{version}/bin/python{version}")
    for prefix in ("/opt/homebrew", "/usr/local"):
        yield Path(f"{prefix}/opt/python@{version}/bin/python{version}")
    for name in (f"python{version}", "python3", "python"):
        found = shutil.which(name)
        if found:
            yield Path(found)


def uv_python_find(version: str) -> Iterator[Path]:
    """The uv-managed interpreter `uv python find` picks for `version`, if any. It never downloads
    one unless the user allowed that through uv's own setting (UV_PYTHON_DOWNLOADS)."""
    args = ["python", "find", version, "--managed-python", "--no-project", "--no-config"]
    if DOWNLOADS_ENV_VAR not in os.environ:
        args.append("--no-python-downloads")
    try:
        found = run_uv(args, what=f"finding Python {version} with uv").strip()
    except TfbridgeError:  # uv manages none: look further
        return
    if found:
        yield Path(found)
