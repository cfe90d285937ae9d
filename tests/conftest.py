"""Shared fixtures. The exam runtime is the real one, built by `tfbridge setup exam` and cached."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"

# Environments the tests build are cached here between runs (CI runs on the same kind of machine).
TEST_HOME = Path(os.environ.get("TFBRIDGE_TEST_HOME", Path.home() / ".cache" / "tfbridge-tests"))


@pytest.fixture(scope="session")
def tfbridge_home() -> Path:
    """The TFBRIDGE_HOME holding the cached exam environment."""
    TEST_HOME.mkdir(parents=True, exist_ok=True)
    return TEST_HOME


@pytest.fixture(scope="session")
def exam_python(tfbridge_home: Path) -> Path:
    """The exam env's interpreter, built for real by `tfbridge setup exam` (a no-op when cached)."""
    override = os.environ.get("TFBRIDGE_TEST_EXAM_PYTHON")
    if override:
        return Path(override)
    from tfbridge.envs import setup_profile

    previous = os.environ.get("TFBRIDGE_HOME")
    os.environ["TFBRIDGE_HOME"] = str(tfbridge_home)
    try:
        return setup_profile("exam").python
    finally:
        if previous is None:
            os.environ.pop("TFBRIDGE_HOME", None)
        else:
            os.environ["TFBRIDGE_HOME"] = previous
