"""Shared fixtures. The exam runtime is the real one, built by `tfbridge setup exam` and cached."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.in_process import can_run_in_process, run_in_process

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"

# Environments the tests build are cached here between runs (CI runs on the same kind of machine).
TEST_HOME = Path(os.environ.get("TFBRIDGE_TEST_HOME", Path.home() / ".cache" / "tfbridge-tests"))


def pytest_configure(config: pytest.Config) -> None:
    """Everything the tests run, in-process or as a subprocess, finds its environments in
    TEST_HOME; set when the session starts, not when this module is imported."""
    os.environ["TFBRIDGE_HOME"] = str(TEST_HOME)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the exam runtime through a fixture is a `runtime` test, however deep."""
    for item in items:
        if "exam_python" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.runtime)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """No warm exam worker outlives the tests (each also exits by itself when idle)."""
    run_tfbridge("worker", "stop", env={"TFBRIDGE_HOME": str(TEST_HOME)}, timeout=60)


@pytest.fixture(scope="session")
def tfbridge_home() -> Path:
    """The TFBRIDGE_HOME holding the cached exam environment."""
    TEST_HOME.mkdir(parents=True, exist_ok=True)
    return TEST_HOME


@pytest.fixture(scope="session")
def exam_python(tfbridge_home: Path) -> Path:
    """The exam env's interpreter, built for real by `tfbridge setup exam` (a no-op when cached)."""
    from tfbridge.envs import setup_profile

    return setup_profile("exam").python


def run_tfbridge(
    *args: str | Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 900,
    prefix: Sequence[str] = (),
    process: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI as a user would, and return what it printed and its exit code.

    It runs in this process (tests/in_process.py: the same entry point, arguments, environment
    and working directory, output captured at the file descriptors) unless the process boundary
    is what is looked at: `process=True`, a `prefix` (e.g. setpriv, to run it without root's
    override of file modes), --debug (the interpreter prints the traceback) or shell completion.
    """
    full_env = {**os.environ, **(env or {})}
    argv = [str(arg) for arg in args]
    if process or prefix or _needs_a_process(argv, full_env) or not can_run_in_process():
        return subprocess.run(
            [*prefix, sys.executable, "-m", "tfbridge", *argv],
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=timeout,
            check=False,
            env=full_env,
        )
    return run_in_process(argv, full_env, cwd, timeout)


def _needs_a_process(argv: list[str], env: dict[str, str]) -> bool:
    options = argv[: argv.index("--")] if "--" in argv else argv
    debug = "--debug" in options or env.get("TFBRIDGE_DEBUG", "") not in ("", "0")
    return debug


def assert_one_line_error(done: subprocess.CompletedProcess[str], code: int = 2) -> str:
    """A user error: the given exit code, one `error:` line closing stderr, no traceback."""
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert "Traceback" not in done.stderr
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], done.stderr
    return errors[0]
