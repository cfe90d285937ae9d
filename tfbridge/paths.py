"""Where tfbridge keeps things: per-user data (environments) and per-project state (.tfbridge/)."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_FILES_DIR = PACKAGE_DIR / "data"
HOME_ENV_VAR = "TFBRIDGE_HOME"
PROFILES_ENV_VAR = "TFBRIDGE_PROFILES"
PROJECT_STATE_DIRNAME = ".tfbridge"
PROFILE_SUFFIX = ".yml"


def data_home() -> Path:
    """Per-user data directory; `TFBRIDGE_HOME` overrides it."""
    override = os.environ.get(HOME_ENV_VAR)
    if override:
        return Path(override).expanduser().resolve()
    import platformdirs

    return Path(platformdirs.user_data_dir("tfbridge", appauthor=False))


def envs_home() -> Path:
    return data_home() / "envs"


def profiles_dir() -> Path:
    """The `envs/` folder of profiles and locks: beside the package in a checkout, inside it when
    installed from a wheel. `TFBRIDGE_PROFILES` points at a folder of your own profiles."""
    override = os.environ.get(PROFILES_ENV_VAR)
    if override:
        return Path(override).expanduser().resolve()
    for candidate in (PACKAGE_DIR.parent / "envs", DATA_FILES_DIR / "envs"):
        if candidate.is_dir():
            return candidate
    return PACKAGE_DIR.parent / "envs"


def profile_names(directory: Path | None = None) -> list[str]:
    """The profiles in `directory` (default: `profiles_dir()`), one `NAME.yml` each; cheap enough
    for shell completion."""
    return sorted(p.stem for p in (directory or profiles_dir()).glob(f"*{PROFILE_SUFFIX}"))


def find_project_root(start: Path | None = None) -> Path:
    """The nearest directory holding tfbridge.toml or pyproject.toml; else the start directory."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / "tfbridge.toml").is_file() or (directory / "pyproject.toml").is_file():
            return directory
    return here


def project_state_dir(root: Path | None = None) -> Path:
    return (root or find_project_root()) / PROJECT_STATE_DIRNAME
