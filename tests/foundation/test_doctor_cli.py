"""`tfbridge doctor` and CLI start-up."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_tfbridge


def test_doctor_reports_a_healthy_exam_env(exam_python: Path) -> None:
    done = run_tfbridge("doctor", "--json")
    assert done.returncode == 0, done.stdout
    report = json.loads(done.stdout)
    assert report["default_profile"] == "exam" and report["broken"] is False
    findings = {f["subject"]: f for f in report["findings"]}
    assert (
        findings["env exam"]["level"] == "pass"
        and str(exam_python) in findings["env exam"]["message"]
    )
    assert findings["pins exam"]["level"] == "pass"
    assert findings["lock exam"]["level"] == "pass"
    assert "CPU" in findings["devices exam"]["message"]
    assert findings["profile metal"]["level"] == "skip"


def test_doctor_exits_1_on_a_half_built_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "envs" / "exam" / "bin").mkdir(parents=True)
    done = run_tfbridge("doctor", "--json", "--no-devices", env={"TFBRIDGE_HOME": str(tmp_path)})
    assert done.returncode == 1
    findings = {f["subject"]: f for f in json.loads(done.stdout)["findings"]}
    assert findings["env exam"]["level"] == "fail"
    assert "half-built" in findings["env exam"]["message"]
    assert findings["env exam"]["hint"] == "run `tfbridge setup exam`"


def test_help_imports_no_heavy_module() -> None:
    probe = (
        "import sys; sys.argv = ['tfbridge', '--help']\n"
        "from tfbridge.cli.main import run\n"
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('tensorflow', 'h5py', 'numpy', 'conda_lock', 'asyncssh', 'yaml')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "HEAVY []" in done.stdout
    for command in ("setup", "lock", "doctor", "env"):
        assert command in done.stdout
