"""`tfbridge setup` for real: pyenv's Python 3.8, the committed lock, uv, TF 2.9.0."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import assert_one_line_error, run_tfbridge
from tests.foundation import EXAM_IMPORT_VERSIONS
from tfbridge.envs import MARKER, Step, env_status, ready_python, setup_profile
from tfbridge.errors import TfbridgeError


def test_exam_env_is_real_tf_290_on_python_38(exam_python: Path) -> None:
    status = env_status("exam")
    assert status.ready and status.current and status.python == exam_python
    smoke = json.loads((status.path / MARKER).read_text())["smoke"]
    assert smoke["python"].startswith("3.8.")
    versions = {module: outcome["version"] for module, outcome in smoke["imports"].items()}
    assert versions == EXAM_IMPORT_VERSIONS
    assert any(device.startswith("CPU:") for device in smoke["devices"])


def test_setup_with_an_unchanged_lock_is_a_no_op(exam_python: Path) -> None:
    again = setup_profile("exam")
    assert not again.changed and again.python == exam_python
    done = run_tfbridge("setup", "exam", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["schema"] == 1
    [environment] = report["environments"]
    assert environment["changed"] is False and environment["jupyter_kernel"] is None
    assert run_tfbridge("env", "path", "exam").stdout.strip() == str(exam_python)


@pytest.fixture
def scratch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("TFBRIDGE_HOME", str(home))
    return home


def _wait_for(predicate: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


@pytest.mark.runtime  # builds a real exam environment with uv
def test_interrupted_setup_is_never_ready_then_rebuilds_and_follows_lock_changes(
    scratch_home: Path, tmp_path: Path
) -> None:
    envs = scratch_home / "envs"
    setup = subprocess.Popen(
        [sys.executable, "-m", "tfbridge", "setup", "exam"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TFBRIDGE_HOME": str(scratch_home)},
        start_new_session=True,
    )
    assert _wait_for(lambda: any(envs.glob(".exam.partial-*/lib/python3.8/site-packages/*")), 120)
    # The whole process group, as a closed terminal would: tfbridge and the uv it runs.
    os.killpg(setup.pid, signal.SIGKILL)
    setup.wait()
    assert not env_status("exam").ready
    assert "Run `tfbridge setup exam`" in assert_one_line_error(run_tfbridge("env", "path", "exam"))

    steps: list[Step] = []
    built = setup_profile("exam", progress=steps.append)
    assert built.changed and env_status("exam").ready
    timed = [(step.text.split(" (")[0], step.seconds) for step in steps if step.phase]
    assert [text for text, _ in timed] == [
        "resolving a Python 3.8 interpreter",
        "resolving a Python 3.8 interpreter",
        "creating a Python 3.8.18 venv",
        "creating a Python 3.8.18 venv",
        "installing 60 packages",
        "installing 60 packages",
        "smoke test",
        "smoke test",
    ]
    assert [seconds is None for _, seconds in timed] == [True, False] * 4
    assert not list(envs.glob(".exam.*")), "the interrupted build was not cleaned up"

    marker = built.path / MARKER
    record = json.loads(marker.read_text())
    marker.write_text(json.dumps({**record, "lock_digest": "0" * 64}))
    with pytest.raises(TfbridgeError, match="built from an older lock"):
        ready_python("exam")
    assert setup_profile("exam").changed

    jupyter = tmp_path / "jupyter"
    done = run_tfbridge("setup", "exam", "--jupyter", env={"JUPYTER_DATA_DIR": str(jupyter)})
    assert done.returncode == 0, done.stderr
    assert re.search(r"^\[exam\] registering a Jupyter kernel \d+\.\d s$", done.stderr, re.M)
    spec = json.loads((jupyter / "kernels" / "tfbridge-exam" / "kernel.json").read_text())
    assert spec["argv"][0] == str(built.python)
    kernel = subprocess.run([built.python, "-c", "import ipykernel_launcher"], check=False)
    assert kernel.returncode == 0


def test_offline_setup_fails_cleanly(scratch_home: Path, tmp_path: Path) -> None:
    done = run_tfbridge(
        "setup", "exam", env={"UV_OFFLINE": "1", "UV_CACHE_DIR": str(tmp_path / "empty-cache")}
    )
    line = assert_one_line_error(done, 3)
    assert "PyPI could not be reached" in line and "Network connectivity is disabled" in line
    assert not env_status("exam").ready
    assert not any((scratch_home / "envs").glob(".exam.*"))


def test_wrong_interpreter_is_named(scratch_home: Path) -> None:
    wrong = Path.home() / ".pyenv" / "versions" / "3.11.7" / "bin" / "python"
    line = assert_one_line_error(run_tfbridge("setup", "exam", "--python", wrong))
    assert f"--python {wrong} is Python 3.11.7, the profile needs 3.8" in line
    missing = assert_one_line_error(run_tfbridge("setup", "exam", "--python", "/no/python"))
    assert "--python /no/python does not run" in missing


def test_unknown_profile_and_backend_are_usage_errors(scratch_home: Path) -> None:
    assert "unknown profile 'gpu'" in assert_one_line_error(run_tfbridge("setup", "gpu"))
    assert "unknown backend" in assert_one_line_error(run_tfbridge("setup", "--backend", "pip"))


def test_conda_backend_without_a_conda_lock_says_how_to_get_one(scratch_home: Path) -> None:
    line = assert_one_line_error(run_tfbridge("setup", "exam", "--backend", "conda"))
    assert "no conda lock for profile 'exam'" in line and "--backend venv" in line


def test_a_stale_lock_is_refused_by_setup_and_lock_check(
    scratch_home: Path, tmp_path: Path
) -> None:
    repo_envs = Path(__file__).resolve().parents[2] / "envs"
    profiles = tmp_path / "profiles"
    shutil.copytree(repo_envs, profiles)
    exam = profiles / "exam.yml"
    exam.write_text(exam.read_text().replace("scipy==1.7.3", "scipy==1.8.0"))
    env = {"TFBRIDGE_PROFILES": str(profiles)}
    line = assert_one_line_error(run_tfbridge("setup", "exam", env=env))
    assert "does not match profile 'exam'" in line and "tfbridge lock exam" in line
    check = run_tfbridge("lock", "--check", "--json", env=env)
    assert check.returncode == 1
    stale = [row for row in json.loads(check.stdout)["locks"] if row["status"] == "stale"]
    assert [(row["profile"], row["platform"]) for row in stale] == [
        ("exam", "osx-64"),
        ("exam", "linux-64"),
        ("exam", "win-64"),
    ]
    assert run_tfbridge("lock", "--check").returncode == 0


MARKER_RECORD = {
    "profile": "exam",
    "backend": "venv",
    "lock": "envs/locks/pylock.exam-linux-64.toml",
    "lock_digest": "0" * 64,
    "built_at": "2026-12-02T10:07:19+0000",
    "smoke": {
        "python": "3.8.18",
        "imports": {"tensorflow": {"ok": True, "version": "2.9.0"}},
        "devices": ["CPU:/physical_device:CPU:0"],
    },
}


def test_env_whose_interpreter_vanished_is_not_ready(scratch_home: Path) -> None:
    env = scratch_home / "envs" / "exam"
    env.mkdir(parents=True)
    (env / MARKER).write_text(json.dumps(MARKER_RECORD))
    status = env_status("exam")
    assert not status.ready and status.problem == "its interpreter is missing"


@pytest.mark.parametrize(
    "marker",
    [
        json.dumps({**MARKER_RECORD, "ready": True}),  # a key tfbridge never writes
        json.dumps({**MARKER_RECORD, "backend": "pip"}),
        json.dumps({**MARKER_RECORD, "smoke": {"python": 3.8}}),
        json.dumps({"profile": "exam", "backend": "venv"}),
        json.dumps([MARKER_RECORD]),
        "{" * 100_000,
        "\udcff not JSON",
    ],
    ids=["unknown-key", "bad-backend", "bad-smoke", "missing-keys", "a-list", "deep", "garbage"],
)
def test_a_corrupt_or_foreign_marker_means_not_ready(scratch_home: Path, marker: str) -> None:
    env = scratch_home / "envs" / "exam"
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "python").symlink_to(sys.executable)
    (env / MARKER).write_text(marker, errors="surrogateescape")
    status = env_status("exam")
    assert (status.ready, status.problem) == (False, "half-built (no completion record)")
    line = assert_one_line_error(run_tfbridge("env", "path", "exam"))
    assert "half-built" in line and "Run `tfbridge setup exam`" in line


@pytest.mark.runtime  # builds a real exam environment with uv
def test_sigterm_during_setup_stops_uv_and_leaves_nothing(scratch_home: Path) -> None:
    """Leaves nothing behind: no half-built env, no orphaned uv still writing into it."""
    envs = scratch_home / "envs"
    setup = subprocess.Popen(
        [sys.executable, "-m", "tfbridge", "setup", "exam"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TFBRIDGE_HOME": str(scratch_home)},
    )
    assert _wait_for(lambda: any(envs.glob(".exam.partial-*/lib/python3.8/site-packages/*")), 120)
    setup.terminate()
    _, stderr = setup.communicate(timeout=60)
    assert setup.returncode == 130
    assert stderr.strip().splitlines()[-1].startswith("error: interrupted")
    assert list(envs.iterdir()) == []
