"""Runtime test fixtures: models saved by the real exam runtime, and one shared worker there."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tfbridge.runtime import RuntimeWorker

BUILD_MODELS = Path(__file__).with_name("build_models.py")


def run_in_runtime(python: Path, script: Path, *args: str) -> None:
    """Run a short script with that environment's interpreter; fail the test with its stderr."""
    completed = subprocess.run(
        [str(python), str(script), *args], capture_output=True, text=True, timeout=600
    )
    assert completed.returncode == 0, completed.stderr[-3000:]


@pytest.fixture(scope="session")
def exam_models(exam_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directory of small models saved by the exam runtime's own Keras 2.9 (see build_models.py)."""
    directory = tmp_path_factory.mktemp("exam-models")
    run_in_runtime(exam_python, BUILD_MODELS, str(directory))
    return directory


@pytest.fixture
def models(exam_models: Path, tmp_path: Path) -> Path:
    """A private copy of the models, free to be fingerprinted, edited or perturbed."""
    copy = tmp_path / "models"
    shutil.copytree(exam_models, copy)
    return copy


@pytest.fixture(scope="session", autouse=True)
def no_warm_worker_left() -> Iterator[None]:
    """The runtime tests leave no warm exam worker behind in the test home, whatever fails."""
    yield
    from tests.conftest import TEST_HOME, run_tfbridge

    run_tfbridge("worker", "stop", env={"TFBRIDGE_HOME": str(TEST_HOME)}, timeout=120)


@pytest.fixture(scope="session")
def exam_worker(exam_python: Path) -> Iterator[RuntimeWorker]:
    """One worker in the exam runtime shared by the tests (TensorFlow imported once)."""
    with RuntimeWorker(exam_python, timeout=300) as worker:
        yield worker
