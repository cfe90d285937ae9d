"""The warm exam worker and the verdict cache, for real: TF 2.9 daemons on a Unix socket in a
private TFBRIDGE_HOME, driven through the CLI as a user would.

The home's exam environment is the cached one, entry by entry symlinked, except its marker, which
is a copy: the tests may rewrite it (as a rebuild would) without touching the cache.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import assert_one_line_error, run_tfbridge
from tfbridge.envs import MARKER
from tfbridge.runtime import RuntimeWorker
from tfbridge.runtime.daemon import environment_identity

pytestmark = pytest.mark.runtime

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mnist_dense.h5"
STOPPED_LINE = "had stopped; starting a new one"


@pytest.fixture
def home(exam_python: Path) -> Iterator[Path]:
    """A TFBRIDGE_HOME of its own (short path: socket addresses are short), stopped afterwards."""
    root = Path(tempfile.mkdtemp(prefix="tfbw-", dir="/tmp"))
    cached_env = exam_python.parent.parent
    env = root / "envs" / "exam"
    env.mkdir(parents=True)
    for entry in cached_env.iterdir():
        if entry.name == MARKER:
            shutil.copy(entry, env / MARKER)
        else:
            (env / entry.name).symlink_to(entry)
    yield root
    run_tfbridge("worker", "stop", env={"TFBRIDGE_HOME": str(root)}, timeout=120)
    shutil.rmtree(root, ignore_errors=True)


def tfbridge(home: Path, *args: str | Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run_tfbridge(*args, env={"TFBRIDGE_HOME": str(home), **env}, timeout=600)


def verify_json(home: Path, *args: str | Path, **env: str) -> dict[str, Any]:
    done = tfbridge(home, "verify", "--json", *args, **env)
    assert done.returncode == 0, (done.stdout, done.stderr)
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def worker_pids(home: Path) -> list[int]:
    done = tfbridge(home, "worker", "status", "--json")
    assert done.returncode == 0, done.stderr
    return [record["pid"] for record in json.loads(done.stdout)["workers"]]


def running(pid: int) -> bool:
    """The process is alive and not a zombie (whose command line is empty)."""
    try:
        return bool(Path(f"/proc/{pid}/cmdline").read_bytes())
    except OSError:
        return False


def check_ids(report: dict[str, Any]) -> list[str]:
    return [check["id"] for check in report["models"][0]["checks"]]


def test_second_verify_reuses_the_warm_worker(home: Path) -> None:
    first = tfbridge(home, "verify", "--no-cache", EXAMPLE)
    assert first.returncode == 0, first.stderr
    assert "starting TensorFlow 2.9" in first.stderr
    [pid] = worker_pids(home)

    second = tfbridge(home, "verify", "--no-cache", EXAMPLE)

    assert second.returncode == 0, second.stderr
    assert "starting TensorFlow" not in second.stderr
    assert worker_pids(home) == [pid]
    # The cold start was measured and is announced next time.
    stop = tfbridge(home, "worker", "stop")
    assert stop.returncode == 0 and str(pid) in stop.stdout
    third = tfbridge(home, "verify", "--no-cache", EXAMPLE)
    assert "starting TensorFlow 2.9 (about " in third.stderr


def test_worker_stop_ends_it_and_no_daemon_uses_none(home: Path) -> None:
    verify_json(home, "--no-cache", EXAMPLE)
    [pid] = worker_pids(home)

    stopped = tfbridge(home, "worker", "stop", "--json")

    assert [record["pid"] for record in json.loads(stopped.stdout)["stopped"]] == [pid]
    assert not running(pid)
    assert worker_pids(home) == []
    verify_json(home, "--no-cache", "--no-daemon", EXAMPLE)
    verify_json(home, "--no-cache", EXAMPLE, TFBRIDGE_NO_DAEMON="1")
    assert worker_pids(home) == []


def test_a_rebuilt_environment_gets_a_new_worker_and_the_old_one_stops(home: Path) -> None:
    verify_json(home, "--no-cache", EXAMPLE)
    [old] = worker_pids(home)
    marker = home / "envs" / "exam" / MARKER
    record = json.loads(marker.read_text())
    record["built_at"] = "2030-01-01T00:00:00+0000"  # what a rebuild changes
    marker.write_text(json.dumps(record))

    verify_json(home, "--no-cache", EXAMPLE)

    [new] = worker_pids(home)
    assert new != old
    assert not running(old)


def test_identity_follows_the_marker_and_the_interpreter() -> None:
    python = Path("/envs/exam/bin/python")
    same = environment_identity(python, '{"built_at": "1"}')
    assert same == environment_identity(python, '{"built_at": "1"}')
    assert same != environment_identity(python, '{"built_at": "2"}')
    assert same != environment_identity(Path("/other/bin/python"), '{"built_at": "1"}')


def test_a_killed_worker_is_replaced_with_one_line(home: Path) -> None:
    verify_json(home, "--no-cache", EXAMPLE)
    [killed] = worker_pids(home)
    os.kill(killed, signal.SIGKILL)

    done = tfbridge(home, "verify", "--no-cache", EXAMPLE)

    assert done.returncode == 0, done.stderr
    assert [line for line in done.stderr.splitlines() if STOPPED_LINE in line] == [
        f"the warm exam worker (pid {killed}) had stopped; starting a new one"
    ]
    [replacement] = worker_pids(home)
    assert replacement != killed


@pytest.mark.parametrize(
    ("deadline", "why"),
    [
        ({}, r"gave no sign of life for 1\d s while waiting for its turn"),
        ({"TFBRIDGE_WORKER_DEADLINE": "6"}, "timed out after 6 s while waiting for its turn"),
    ],
    ids=["heartbeat", "deadline"],
)
def test_a_hanging_worker_is_replaced_with_one_line(
    home: Path, deadline: dict[str, str], why: str
) -> None:
    verify_json(home, "--no-cache", EXAMPLE)
    [hanging] = worker_pids(home)
    os.kill(hanging, signal.SIGSTOP)  # alive, its socket accepting, and never answering
    try:
        began = time.monotonic()
        done = tfbridge(home, "verify", "--no-cache", EXAMPLE, **deadline)
        seconds = time.monotonic() - began
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(hanging, signal.SIGKILL)

    assert done.returncode == 0, done.stderr
    [line] = [line for line in done.stderr.splitlines() if "starting a new one" in line]
    expected = f"the warm exam worker \\(pid {hanging}\\) {why}; starting a new one"
    assert re.fullmatch(expected, line), line
    [replacement] = worker_pids(home)
    assert replacement != hanging
    print(f"a hanging warm worker replaced: that verify took {seconds:.1f} s")


def test_a_worker_that_hangs_mid_request_is_replaced_and_the_request_retried(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TFBRIDGE_HOME", str(home))
    lines: list[str] = []
    python = home / "envs" / "exam" / "bin" / "python"
    with RuntimeWorker(python, shared=True, progress=lines.append) as worker:
        hanging = worker.pid
        assert hanging is not None
        os.kill(hanging, signal.SIGSTOP)  # it has greeted us: the next request finds it hung
        try:
            result = worker.predict_probes(EXAMPLE)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(hanging, signal.SIGKILL)
        assert worker.pid not in (None, hanging)

    assert result.ok
    [line] = [line for line in lines if "starting a new one" in line]
    assert line.startswith(f"the warm exam worker (pid {hanging}) gave no sign of life for 1")
    assert line.endswith(f"while predicting with {EXAMPLE}; starting a new one")


@pytest.mark.parametrize("change", ["mode", "owner"])
def test_a_socket_others_can_use_is_refused(home: Path, change: str) -> None:
    verify_json(home, "--no-cache", EXAMPLE)
    [socket_file] = (home / "workers").glob("*.sock")
    if change == "mode":
        socket_file.chmod(0o666)
    else:
        os.chown(socket_file, 65534, 65534)

    done = tfbridge(home, "verify", "--no-cache", EXAMPLE)

    line = assert_one_line_error(done, 3)
    assert f"refusing the exam worker socket {socket_file}" in line
    assert ("mode 666" if change == "mode" else "owned by another user") in line


def test_trusted_code_never_runs_in_the_shared_worker(home: Path, models: Path) -> None:
    shared_marker, trusted_marker = home / "shared-ran-it", home / "trusted-ran-it"
    # The warm worker starts with a marker path of its own in its environment...
    verify_json(home, "--no-cache", EXAMPLE, TFBRIDGE_TEST_MARKER=str(shared_marker))
    [pid] = worker_pids(home)

    report = verify_json(
        home, "--trust", models / "marking.h5", TFBRIDGE_TEST_MARKER=str(trusted_marker)
    )

    # ...so only a one-shot worker can have run the model's code.
    assert trusted_marker.exists() and not shared_marker.exists()
    assert "runtime.load" in check_ids(report)
    assert worker_pids(home) == [pid]


def test_a_trusted_verify_alone_leaves_no_worker(home: Path, models: Path) -> None:
    verify_json(home, "--trust", models / "marking.h5")
    assert worker_pids(home) == []


def test_verdict_cache_hit_corrupt_entry_and_no_cache(home: Path, tmp_path: Path) -> None:
    model = Path(shutil.copy(EXAMPLE, tmp_path / "m.h5"))
    shutil.copy(f"{EXAMPLE}.fingerprint.json", f"{model}.fingerprint.json")
    first = verify_json(home, model)
    assert "runtime.cache" not in check_ids(first)

    second = verify_json(home, model)

    assert "runtime.cache" in check_ids(second)
    assert "same model, contract and exam environment" in json.dumps(second)
    rest = [check for check in second["models"][0]["checks"] if check["id"] != "runtime.cache"]
    assert rest == first["models"][0]["checks"]
    # Another contract is another key.
    other = verify_json(home, model, "--output-shape", "10")
    assert "runtime.cache" not in check_ids(other)
    assert "runtime.cache" not in check_ids(verify_json(home, "--no-cache", model))
    for entry in (home / "verdicts").glob("*.json"):
        entry.write_text('{"format": 1, "runtime_load": "compile", "checks": [{"id": "runtime.lo')
    assert "runtime.cache" not in check_ids(verify_json(home, model))


def test_a_changed_fingerprint_is_a_cache_miss(home: Path, tmp_path: Path) -> None:
    model = Path(shutil.copy(EXAMPLE, tmp_path / "m.h5"))
    fingerprint = Path(f"{model}.fingerprint.json")
    shutil.copy(f"{EXAMPLE}.fingerprint.json", fingerprint)
    verify_json(home, model)
    fingerprint.write_text(fingerprint.read_text() + "\n")  # same content to JSON, other bytes

    assert "runtime.cache" not in check_ids(verify_json(home, model))


def test_concurrent_commands_share_one_worker(home: Path, tmp_path: Path) -> None:
    verify_json(home, "--no-cache", EXAMPLE)
    [pid] = worker_pids(home)
    command = [sys.executable, "-m", "tfbridge", "verify", "--no-cache", "--json", str(EXAMPLE)]
    env = {**os.environ, "TFBRIDGE_HOME": str(home)}
    runs = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(3)
    ]

    outputs = [run.communicate(timeout=600) for run in runs]

    assert [run.returncode for run in runs] == [0, 0, 0], outputs
    verdicts = [json.loads(out)["models"][0]["verdict"] for out, _ in outputs]
    assert verdicts == ["pass", "pass", "pass"]
    assert worker_pids(home) == [pid]


def test_fingerprint_in_the_exam_env_uses_the_warm_worker(home: Path, tmp_path: Path) -> None:
    model = Path(shutil.copy(EXAMPLE, tmp_path / "m.h5"))
    python = home / "envs" / "exam" / "bin" / "python"
    verify_json(home, "--no-cache", EXAMPLE)
    [pid] = worker_pids(home)

    done = tfbridge(home, "fingerprint", "--python", python, model)

    assert done.returncode == 0, done.stderr
    assert Path(f"{model}.fingerprint.json").is_file()
    assert "starting TensorFlow 2.9" not in done.stderr
    assert worker_pids(home) == [pid]


def test_a_caller_waiting_on_a_stopping_worker_gets_a_new_one(home: Path) -> None:
    verify_json(home, "--no-cache", EXAMPLE)
    [old] = worker_pids(home)
    [socket_file] = (home / "workers").glob("*.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as busy:
        busy.connect(str(socket_file))
        busy.makefile("rb").readline()  # the hello: the worker now serves this caller
        waiting = subprocess.Popen(
            [sys.executable, "-m", "tfbridge", "verify", "--no-cache", "-q", str(EXAMPLE)],
            env={**os.environ, "TFBRIDGE_HOME": str(home)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(2)  # let it connect and queue behind the busy caller
        stopping = subprocess.Popen(
            [sys.executable, "-m", "tfbridge", "worker", "stop"],
            env={**os.environ, "TFBRIDGE_HOME": str(home)},
            stdout=subprocess.DEVNULL,
        )
        time.sleep(1)
        assert running(old)  # it finishes the caller it serves first
    _, err = waiting.communicate(timeout=600)
    stopping.wait(timeout=60)

    assert waiting.returncode == 0, err
    assert not running(old)
    assert worker_pids(home) not in ([], [old])


def test_an_idle_worker_exits_by_itself(home: Path) -> None:
    verify_json(home, "--no-cache", EXAMPLE, TFBRIDGE_WORKER_IDLE="2")
    [pid] = worker_pids(home)
    deadline = time.monotonic() + 60
    while running(pid) and time.monotonic() < deadline:
        time.sleep(0.5)

    assert not running(pid)
    assert worker_pids(home) == []
    assert list((home / "workers").glob("*.sock")) == []


def test_a_home_too_deep_for_a_socket_address_uses_one_shot_workers(
    exam_python: Path, tmp_path: Path
) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    (deep / "envs").mkdir(parents=True)
    (deep / "envs" / "exam").symlink_to(exam_python.parent.parent)

    report = verify_json(deep, "--no-cache", EXAMPLE)

    assert "runtime.load" in check_ids(report)
    assert worker_pids(deep) == []
