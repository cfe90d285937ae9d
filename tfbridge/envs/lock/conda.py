"""conda-backend locks and installs, driven through conda-lock.

conda channels cannot be reached where tfbridge is developed, so everything up to `run_conda_lock`
(the one function that runs conda-lock) is tested for real; that function itself is not.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tfbridge.envs.profiles import Profile
from tfbridge.errors import EnvironmentFailure, TfbridgeError
from tfbridge.files import write_bytes_atomic
from tfbridge.paths import profiles_dir

CONDA_FRONTENDS = ("micromamba", "mamba", "conda")


def conda_lock_path(profile: Profile, directory: Path | None = None) -> Path:
    return (directory or profiles_dir() / "locks") / f"conda-lock.{profile.name}.yml"


def find_conda_frontend() -> str | None:
    return next((name for name in CONDA_FRONTENDS if shutil.which(name)), None)


def lock_command(profile: Profile, output: Path, platforms: Sequence[str] = ()) -> tuple[str, ...]:
    """The conda-lock call for a profile's environment file, on its (or the given) platforms."""
    args = ["conda-lock", "lock", "--file", str(profile.source), "--lockfile", str(output)]
    for platform in platforms or profile.platforms:
        args += ["--platform", platform]
    return tuple(args)


def install_command(lockfile: Path, prefix: Path) -> tuple[str, ...]:
    return ("conda-lock", "install", "--prefix", str(prefix), str(lockfile))


def write_conda_lock(
    profile: Profile, platforms: Sequence[str] = (), directory: Path | None = None
) -> Path:
    target = conda_lock_path(profile, directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tfbridge-conda-lock-") as scratch:
        produced = Path(scratch) / target.name
        run_conda_lock(lock_command(profile, produced, platforms))
        read_conda_lock(produced)  # refuse to commit what conda-lock itself cannot read back
        write_bytes_atomic(target, produced.read_bytes())
    return target


def read_conda_lock(path: Path) -> dict[str, list[str]]:
    """platform -> sorted 'name==version' in a conda-lock lockfile, read by conda-lock's models."""
    try:
        from conda_lock.lockfile import parse_conda_lock_file
    except ImportError:
        raise TfbridgeError(
            "conda-lock is not installed", "install it with `pip install 'tfbridge[conda]'`"
        ) from None
    try:
        lock = parse_conda_lock_file(path)
    except Exception as error:  # conda-lock raises assorted pydantic/yaml errors
        raise TfbridgeError(
            f"{path} is not a conda-lock lockfile ({type(error).__name__})",
            "regenerate it with `tfbridge lock --backend conda`",
        ) from None
    by_platform: dict[str, list[str]] = {}
    for package in lock.package:
        by_platform.setdefault(package.platform, []).append(f"{package.name}=={package.version}")
    return {platform: sorted(names) for platform, names in sorted(by_platform.items())}


def run_conda_lock(args: Sequence[str]) -> None:
    """THE seam: run conda-lock. Everything before it is tested here; this call is not."""
    executable = shutil.which(args[0])
    if executable is None:
        raise TfbridgeError(
            "conda-lock is not on PATH",
            "install it with `pip install 'tfbridge[conda]'` or use --backend venv",
        )
    done = subprocess.run([executable, *args[1:]], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise EnvironmentFailure(
            f"conda-lock failed: {last}",
            "check that the conda channels are reachable, or use --backend venv",
        )
