"""Fixtures for the training tests: a real newer-Keras env (the fixtures' cached saver venv)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

SAVER_SCRIPTS = Path(__file__).resolve().parents[2] / "scripts" / "fixtures"


@pytest.fixture(scope="session")
def keras215_python() -> Path:
    """TensorFlow 2.15 / Keras 2.15 on Python 3.11: built once by the fixtures' saver script."""
    sys.path.insert(0, str(SAVER_SCRIPTS))
    try:
        import saver_envs
    finally:
        sys.path.remove(str(SAVER_SCRIPTS))
    [saver] = [s for s in saver_envs.load_savers() if s.tag == "keras-2.15"]
    saver_envs.ensure_env(saver, log=lambda message: None)
    return Path(saver.env_python)
