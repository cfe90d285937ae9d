"""The error model every command shares: exit codes, one-line errors, one JSON object, --debug."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import assert_one_line_error, run_tfbridge
from tfbridge import __version__
from tfbridge.files import atomic_output, remove_stale_temps, write_text_atomic

COMMANDS = ["verify", "convert", "fingerprint", "sync", "setup", "lock", "doctor", "train"]


def test_version() -> None:
    done = run_tfbridge("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"tfbridge {__version__}"


def test_help_lists_exit_codes() -> None:
    done = run_tfbridge("--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "3 the environment or connection failed" in text


@pytest.mark.parametrize("command", COMMANDS)
def test_unknown_option_is_a_one_line_usage_error(command: str) -> None:
    done = run_tfbridge(command, "--no-such-option")
    line = assert_one_line_error(done, 2)
    # sync and train run their default sub-command (`sync send`, `train run`) for a bare option
    default = {"sync": "sync send", "train": "train run"}.get(command, command)
    assert "--no-such-option" in line and f"tfbridge {default} --help" in line


def test_usage_error_with_json_prints_one_error_object() -> None:
    done = run_tfbridge("verify", "--no-such-option", "--json")
    assert done.returncode == 2
    document = json.loads(done.stdout)
    assert document["schema"] == 1
    assert document["error"]["exit_code"] == 2
    assert "--no-such-option" in document["error"]["message"]
    assert document["error"]["hint"]


def test_domain_error_with_json_prints_one_error_object(tmp_path: Path) -> None:
    done = run_tfbridge("verify", tmp_path / "missing.h5", "--json")
    assert_one_line_error(done, 2)
    document = json.loads(done.stdout)
    assert set(document) == {"schema", "error"}
    assert str(tmp_path / "missing.h5") in document["error"]["message"]


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    quiet = run_tfbridge("verify", tmp_path / "missing.h5")
    assert "Traceback" not in quiet.stderr
    loud = run_tfbridge("--debug", "verify", tmp_path / "missing.h5")
    assert loud.returncode != 0 and "Traceback" in loud.stderr
    by_env = run_tfbridge("verify", tmp_path / "missing.h5", env={"TFBRIDGE_DEBUG": "1"})
    assert "Traceback" in by_env.stderr


def test_atomic_output_refuses_a_fifo_and_leaves_it(tmp_path: Path) -> None:
    fifo = tmp_path / "out.h5"
    os.mkfifo(fifo)
    with pytest.raises(Exception, match="FIFO"), atomic_output(fifo):
        pass
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.h5"]


def test_atomic_output_replaces_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_output(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("writer failed")
    assert target.read_text() == "old"
    write_text_atomic(target, "new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_stale_temps_of_dead_writers_are_removed(tmp_path: Path) -> None:
    dead_pid = _dead_pid()
    stale = tmp_path / f".a.h5.{dead_pid}.tmp"
    live = tmp_path / f".a.h5.{os.getppid()}.tmp"
    stale.write_bytes(b"x")
    live.write_bytes(b"x")
    assert remove_stale_temps(tmp_path, "a.h5") == 1
    assert not stale.exists() and live.exists()


def _dead_pid() -> int:
    import subprocess
    import sys

    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(child.stdout)


@pytest.mark.runtime
def test_interrupt_with_json_prints_one_error_object(exam_python: Path, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "train_slowly.py"
    script.write_text("import time\nprint('training', flush=True)\ntime.sleep(120)\n")
    (tmp_path / "pyproject.toml").write_text("")
    process = subprocess.Popen(
        [sys.executable, "-m", "tfbridge", "train", "--json", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    time.sleep(4)  # the script is running
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert json.loads(stdout)["error"]["exit_code"] == 130


def test_cli_start_up_imports_no_heavy_or_record_library() -> None:
    probe = (
        "import sys, tfbridge.cli.main; "
        "print(sorted({'h5py', 'numpy', 'msgspec', 'tensorflow', 'asyncssh'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
