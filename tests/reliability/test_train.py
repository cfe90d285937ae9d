"""`tfbridge train` when the training script is hostile: special files and broken models in the
output directory, death by a signal, Ctrl-C. The real exam runtime trains; few cases, since each
starts TensorFlow."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.reliability.contract import TIMEOUT_SECONDS, contract_problems, run_cli
from tests.reliability.hostile import GOOD_MODEL

# Leaves everything a scan must not choke on, a real model with a damaged fingerprint, and an
# empty model; then dies the way an out-of-memory kill ends a run.
HOSTILE_OUTPUTS_THEN_KILLED = """
import os, shutil, signal, socket, sys
shutil.copy(sys.argv[1], "good.h5")
open("good.h5.fingerprint.json", "w").write('{"schema": "tfbridge.fin')
open("empty.h5", "wb").close()
os.mkfifo("fifo.h5")
server = socket.socket(socket.AF_UNIX)
server.bind("socket.h5")
os.symlink("loop.h5", "loop.h5")
os.symlink("/dev/zero", "device.h5")
print("SAVED", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""

# Saves a model, then trains "forever"; Ctrl-C ends it quietly (its own traceback is not ours).
SAVES_THEN_WAITS = """
import shutil, sys, time
shutil.copy(sys.argv[1], "early.h5")
try:  # the Ctrl-C may land while READY is still being written
    print("READY", flush=True)
    time.sleep(300)
except KeyboardInterrupt:
    sys.exit(130)
"""


def _project(root: Path, script: str) -> Path:
    (root / "pyproject.toml").write_text('[project]\nname = "exam-prep"\n')
    (root / "train.py").write_text(script)
    return root


def _runs(project: Path) -> list[dict[str, object]]:
    lines = (project / ".tfbridge" / "runs.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


@pytest.mark.runtime
def test_special_files_broken_models_and_a_killed_script_are_reported_not_fatal(
    exam_python: Path, tmp_path: Path
) -> None:
    project = _project(tmp_path, HOSTILE_OUTPUTS_THEN_KILLED)
    done = run_cli(["train", "train.py", "--profile", "exam", "--json", "--", GOOD_MODEL], project)

    problems = contract_problems(done, {1}, json_output=True)
    assert not problems, (problems, done.stderr[-3000:])
    run = json.loads(done.stdout)["run"]
    assert run["exit_code"] == -signal.SIGKILL
    verdicts = {Path(model["path"]).name: model["verdict"] for model in run["models"]}
    assert verdicts == {"good.h5": "pass", "empty.h5": "fail"}
    skipped = {Path(entry["path"]).name: entry["reason"] for entry in run["skipped"]}
    assert skipped == {
        "fifo.h5": "a FIFO (named pipe), not a regular file",
        "socket.h5": "a socket, not a regular file",
        "loop.h5": "a symbolic link loop",
        "device.h5": "a character device, not a regular file",
    }
    assert (project / "fifo.h5").is_fifo()
    fingerprint = json.loads((project / "good.h5.fingerprint.json").read_text())
    assert fingerprint["schema"] == "tfbridge.fingerprint"  # the damaged one was written again
    assert _runs(project) == [run]

    listed = run_cli(["train", "--list"], project)
    assert listed.returncode == 0, listed.stderr
    assert "-9" in listed.stdout


@pytest.mark.runtime
def test_ctrl_c_during_training_records_the_run_as_interrupted(
    exam_python: Path, tmp_path: Path
) -> None:
    project = _project(tmp_path, SAVES_THEN_WAITS)
    command = [sys.executable, "-m", "tfbridge", "train", "train.py", "--profile", "exam"]
    # A terminal's Ctrl-C reaches the whole foreground process group: tfbridge and the script.
    errors = tmp_path / "stderr.txt"
    with errors.open("w") as stderr_file:
        process = subprocess.Popen(
            [*command, "--", str(GOOD_MODEL)],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=stderr_file,
            text=True,
            start_new_session=True,
        )
        try:
            _wait_for_line(process, "READY")
            os.killpg(process.pid, signal.SIGINT)
            process.wait(timeout=TIMEOUT_SECONDS)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    stderr = errors.read_text()

    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "error: interrupted" in stderr
    [run] = _runs(project)
    assert run["interrupted"] is True
    assert run["models"] == [
        {
            "path": str(project / "early.h5"),
            "verdict": "skip",
            "fingerprint": None,
            "problem": "not checked: the run was interrupted",
        }
    ]
    assert not (project / "early.h5.fingerprint.json").exists()


def _wait_for_line(process: subprocess.Popen[str], wanted: str) -> None:
    """Read the script's output until `wanted`; fail (not hang) if it never comes."""
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout

    def forward() -> None:
        for line in stdout:
            lines.put(line)

    threading.Thread(target=forward, daemon=True).start()
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            if lines.get(timeout=1).strip() == wanted:
                return
        except queue.Empty:
            if process.poll() is not None:
                break
    pytest.fail(f"the script never printed {wanted} (tfbridge exit {process.poll()})")


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _not_utf8(path: Path) -> None:
    path.write_bytes(b"\xff\xfe{}\n")


def _half_a_record(path: Path) -> None:
    path.write_text('{"script": "train.py", "exit_code": \n')


@pytest.mark.parametrize("damage", [_fifo, _not_utf8, _half_a_record, Path.mkdir])
@pytest.mark.parametrize("json_output", [False, True], ids=["text", "json"])
def test_listing_a_damaged_run_log_is_one_error(
    damage: object, json_output: bool, tmp_path: Path
) -> None:
    project = _project(tmp_path, "")
    (project / ".tfbridge").mkdir()
    log = project / ".tfbridge" / "runs.jsonl"
    damage(log)  # type: ignore[operator]
    done = run_cli(["train", "--list", *(["--json"] if json_output else [])], project)
    assert not contract_problems(done, {2}, json_output), done.stderr
    assert str(log) in done.stderr


@pytest.mark.parametrize("make", [_fifo, lambda path: path.write_text("a file")])
def test_an_output_dir_that_is_not_a_folder_stops_before_the_script(
    make: object, tmp_path: Path
) -> None:
    project = _project(tmp_path, "open('SCRIPT_RAN', 'w').write('ran')\n")
    make(project / "out")  # type: ignore[operator]
    done = run_cli(["train", "train.py", "--profile", "exam", "--output-dir", "out"], project)
    assert not contract_problems(done, {2}, json_output=False), done.stderr
    assert "--output-dir out" in done.stderr
    assert not (project / "SCRIPT_RAN").exists()
    assert not (project / ".tfbridge").exists()
