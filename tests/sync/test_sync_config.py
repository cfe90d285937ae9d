"""tfbridge.toml / [tool.tfbridge]: parsing, validation messages, `tfbridge sync --init`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import assert_one_line_error, run_tfbridge
from tfbridge.config import load_config
from tfbridge.contract import Contract
from tfbridge.errors import TfbridgeError

SLOT = '[slots.q1]\nmodel = "m/q1.h5"\n'


def _write(root: Path, text: str, name: str = "tfbridge.toml") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text)
    return root


def test_init_writes_an_example_that_loads(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tfbridge", "sync", "--init"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    config = load_config(tmp_path)
    assert config.target is not None
    assert (config.target.user, config.target.host, config.target.path) == (
        "me",
        "exam-mac",
        "~/exam",
    )
    slot = config.slots["q1"]
    assert slot.model == tmp_path / "models" / "q1.h5"
    assert slot.remote_dir == "Category1"
    assert slot.contract == Contract((28, 28), (10,), "softmax")
    again = subprocess.run(
        [sys.executable, "-m", "tfbridge", "sync", "--init"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert again.returncode == 2
    assert "already exists" in again.stderr


def test_pyproject_section_found_from_a_subdirectory(tmp_path: Path) -> None:
    _write(
        tmp_path,
        '[project]\nname = "x"\n[tool.tfbridge.target]\ndest = "exam"\n'
        '[tool.tfbridge.slots.q2]\nmodel = "m/q2.h5"\ninput_shape = ["None", 8]\n',
        name="pyproject.toml",
    )
    (tmp_path / "src" / "deep").mkdir(parents=True)
    config = load_config(tmp_path / "src" / "deep")
    assert config.source == tmp_path / "pyproject.toml"
    assert config.target is not None and config.target.is_local
    assert config.target.path == str((tmp_path / "exam").resolve())
    assert config.slots["q2"].remote_dir == "q2"
    assert config.slots["q2"].contract.input_shape == (None, 8)


def test_ssh_dest_with_port_and_python(tmp_path: Path) -> None:
    _write(
        tmp_path,
        '[target]\ndest = "ann@grader.local:/Users/ann/exam"\nport = 2222\n'
        'python = "~/exam/bin/python"\n' + SLOT,
    )
    target = load_config(tmp_path).require_target()
    assert (target.user, target.host, target.port, target.path, target.python) == (
        "ann",
        "grader.local",
        2222,
        "/Users/ann/exam",
        "~/exam/bin/python",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[target]\ndest = "h:x"\ncolour = 1\n', "`target.colour` is not a known key"),
        ('[slots.q1]\nmodel = "m/q1.keras"\n', "`slots.q1.model` must be the path of a .h5 file"),
        (SLOT + 'remote_dir = "../elsewhere"\n', "`slots.q1.remote_dir` must not contain '..'"),
        (SLOT + 'remote_dir = "/etc"\n', "`slots.q1.remote_dir` must be relative"),
        (SLOT + 'remote_dir = ".tfbridge-history/q1"\n', "must not be inside .tfbridge-history"),
        (SLOT + "input_shape = [28, 0]\n", "`slots.q1.input_shape` has 0"),
        (SLOT + '[slots.q2]\nmodel = "m/q2.h5"\nremote_dir = "q1"\n', "also slot q1's directory"),
        (SLOT + '[slots.q2]\nmodel = "m/q2.h5"\nremote_dir = "Q1"\n', "also slot q1's directory"),
        ('[target]\ndest = "h:x"\nport = 70000\n', "`target.port` must be a port number"),
        ("[target\n", "not valid TOML"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    _write(tmp_path, text)
    with pytest.raises(TfbridgeError) as caught:
        load_config(tmp_path)
    assert str(tmp_path / "tfbridge.toml") in caught.value.one_line()
    assert expected in caught.value.one_line()


def test_missing_config_points_at_init(tmp_path: Path) -> None:
    with pytest.raises(TfbridgeError, match=r"no tfbridge\.toml") as caught:
        load_config(tmp_path)
    assert "tfbridge sync --init" in caught.value.hint


def test_cli_reports_bad_config_in_one_line(tmp_path: Path) -> None:
    _write(tmp_path, SLOT + 'remote_dir = "../up"\n')
    done = subprocess.run(
        [sys.executable, "-m", "tfbridge", "sync", "--dry-run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'[target]\ndest = "caf\xe9"\n', "not UTF-8 text (byte 0xe9 on line 2)"),
        (b"\xff\xfe[target]\n", "not UTF-8 text (byte 0xff on line 1)"),
        (b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested too deeply"),
        (b'[target]\ndest = "h:x"\nport = "22"\n', "`target.port` must be a port number"),
        (b'[slots.q1]\nmodel = "m/q1.h5"\ncolour = 1\n', "`slots.q1.colour` is not a known key"),
        (b'[slots.q1]\nmodel = "m/q1.h5"\ninput_shape = 3\n', "`slots.q1.input_shape` must list"),
        (b'[slots.q1]\nmodel = "~nobody-here/q1.h5"\n', "`slots.q1.model` names a home directory"),
        (b'[slots.q1]\nmodel = "m/q\\u0000.h5"\n', "`slots.q1.model` must not contain a NUL"),
    ],
)
def test_cli_names_file_and_key_in_one_line(tmp_path: Path, content: bytes, expected: str) -> None:
    (tmp_path / "tfbridge.toml").write_bytes(content)
    for args in (("sync",), ("sync", "status"), ("sync", "rollback", "q1")):
        done = run_tfbridge(*args, "--json", cwd=tmp_path)
        line = assert_one_line_error(done, code=2)
        assert str(tmp_path / "tfbridge.toml") in line and expected in line
        assert json.loads(done.stdout)["error"]["exit_code"] == 2


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_config_that_is_not_a_file_is_one_line(tmp_path: Path, kind: str) -> None:
    config = tmp_path / "tfbridge.toml"
    if kind == "directory":
        config.mkdir()
    else:
        os.mkfifo(config)
    done = run_tfbridge("sync", "--dry-run", cwd=tmp_path, timeout=60)
    line = assert_one_line_error(done, code=2)
    assert f"{config}: a {'directory' if kind == 'directory' else 'FIFO'}" in line


def test_pyproject_tool_tfbridge_of_the_wrong_type(tmp_path: Path) -> None:
    _write(tmp_path, '[project]\nname = "x"\n[tool]\ntfbridge = 3\n', name="pyproject.toml")
    with pytest.raises(TfbridgeError, match=r"`tool.tfbridge` must be a table"):
        load_config(tmp_path)
