"""Finding a Python X.Y: real uv (`uv python find`), real pyenv Pythons, real PATHs made for the
test. Nothing is replaced; each test says where to look through the environment variables that uv
and pyenv read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tfbridge.envs.interpreters import find_interpreter, uv_python_find
from tfbridge.errors import EXIT_ENVIRONMENT, EnvironmentFailure

PYENV_ROOT = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
PYTHON_39 = max((PYENV_ROOT / "versions").glob("3.9.*/bin/python3.9"))  # CI has pyenv's 3.9


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No uv-managed Pythons, no pyenv, an empty PATH: nothing to find until a test adds it."""
    for name in ("bin", "managed", "pyenv"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("UV_PYTHON_INSTALL_DIR", str(tmp_path / "managed"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    monkeypatch.delenv("UV_PYTHON_DOWNLOADS", raising=False)
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    return tmp_path


def _uv_managed(root: Path, python: Path) -> Path:
    """A uv-managed Python 3.9 in uv's own layout (the interpreter itself is pyenv's)."""
    version = python.parents[1].name
    bin_dir = root / f"cpython-{version}-linux-x86_64-gnu" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python3.9").symlink_to(python)
    return bin_dir / "python3.9"


def test_a_uv_managed_python_comes_first_as_uv_names_it(
    nowhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    managed = _uv_managed(nowhere / "managed", PYTHON_39)
    monkeypatch.setenv("PYENV_ROOT", str(PYENV_ROOT))
    assert list(uv_python_find("3.9")) == [managed]
    found = find_interpreter("3.9")
    assert (found.path, found.minor) == (managed, "3.9")


def test_pyenv_then_path_where_uv_manages_none(
    nowhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What pyenv's shim does when 3.9 is installed but not active; it is never the one chosen.
    shim = nowhere / "bin" / "python3.9"
    shim.write_text("#!/bin/sh\necho 'pyenv: python3.9: command not found' >&2\nexit 127\n")
    shim.chmod(0o755)
    assert list(uv_python_find("3.9")) == []
    monkeypatch.setenv("PYENV_ROOT", str(PYENV_ROOT))
    assert find_interpreter("3.9").path == PYTHON_39
    monkeypatch.setenv("PYENV_ROOT", str(nowhere / "pyenv"))
    shim.unlink()
    shim.symlink_to(PYTHON_39)
    assert find_interpreter("3.9").path == shim


def test_none_found_is_an_environment_failure_and_nothing_is_downloaded(nowhere: Path) -> None:
    with pytest.raises(EnvironmentFailure) as none:
        find_interpreter("3.8")
    assert none.value.exit_code == EXIT_ENVIRONMENT
    assert none.value.one_line().startswith("no Python 3.8 interpreter found")
    assert "`uv python install 3.8`" in none.value.one_line()
    assert list((nowhere / "managed").iterdir()) == []
