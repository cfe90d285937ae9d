"""The example training scripts run in the exam runtime and save models the exam loads."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tfbridge.train.preflight import HELPERS_DIR
from tfbridge.verify import verify_paths

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NAMES = ("regression", "images", "nlp", "timeseries")


@pytest.mark.runtime
def test_every_example_trains_and_its_model_passes_verify(
    exam_python: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "PYTHONPATH": str(HELPERS_DIR), "TF_CPP_MIN_LOG_LEVEL": "2"}
    models = []
    for name in NAMES:
        model = tmp_path / f"{name}.h5"
        script = EXAMPLES / f"train_{name}.py"
        done = subprocess.run(
            [str(exam_python), str(script), "--epochs", "1", "--output", str(model)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, (name, done.stderr[-3000:])
        assert f"saved {model}" in done.stdout
        models.append(model)

    report = verify_paths(models, exam_python=exam_python)

    for model in report.models:
        statuses = {check.id: check.status for check in model.checks}
        assert model.verdict == "pass", (model.path, model.checks)
        assert statuses["runtime.load"] == "pass"
        assert statuses["runtime.parity"] == "pass"
