"""The CLI run in-process (tests/in_process.py) says what a real `python -m tfbridge` process says:
same exit code, stdout and stderr, on success, on usage and domain errors, with --json, and when
one process runs several commands (no state of an earlier command leaks into the next)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.conftest import run_tfbridge
from tests.in_process import run_in_process
from tests.reliability.hostile import GOOD_MODEL

COMMANDS = {
    "version": ["--version"],
    "usage error --json": ["sync", "status", "--no-such-option", "--json"],
    "missing model --json": ["verify", "{tmp}/missing.h5", "--json"],
    "static verify": ["verify", "--no-runtime", str(GOOD_MODEL)],
    "no config": ["sync", "status"],
    "slot completion": ["sync", "status"],
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_in_process_and_a_real_process_print_the_same(name: str, tmp_path: Path) -> None:
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in COMMANDS[name]]
    env = {"COLUMNS": "100"}
    if name == "slot completion":
        (tmp_path / "tfbridge.toml").write_text('[slots.q1]\nmodel = "q1.h5"\n')
        env |= {"_TFBRIDGE_COMPLETE": "complete_bash", "COMP_WORDS": "tfbridge sync q"}
        env |= {"COMP_CWORD": "2"}
    here = run_tfbridge(*args, env=env, cwd=tmp_path)
    real = run_tfbridge(*args, env=env, cwd=tmp_path, process=True)
    assert real.stdout or real.stderr
    assert (here.returncode, here.stdout, here.stderr) == (
        real.returncode,
        real.stdout,
        real.stderr,
    )


def test_a_second_failing_command_in_one_process_still_prints_its_json_error(
    tmp_path: Path,
) -> None:
    """Whether a JSON object was printed belongs to one command, not to the process."""
    args = ["verify", str(tmp_path / "missing.h5"), "--json"]
    first = run_in_process(args, dict(os.environ), tmp_path, 60)
    second = run_in_process(args, dict(os.environ), tmp_path, 60)
    assert first.returncode == second.returncode == 2
    assert second.stdout == first.stdout and '"error"' in second.stdout


def test_the_terminal_width_is_read_for_each_command(tmp_path: Path) -> None:
    """Rich reads COLUMNS when it makes a console: a later command gets its own width."""
    args = ["verify", "--no-runtime", str(GOOD_MODEL)]
    narrow = run_in_process(args, {**os.environ, "COLUMNS": "60"}, tmp_path, 60)
    wide = run_in_process(args, {**os.environ, "COLUMNS": "200"}, tmp_path, 60)
    assert max(map(len, narrow.stdout.splitlines())) <= 60
    assert max(map(len, wide.stdout.splitlines())) > 60


def test_the_test_process_is_left_as_it_was(tmp_path: Path) -> None:
    before = (dict(os.environ), os.getcwd(), signal.getsignal(signal.SIGINT))
    before_handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGALRM)
    env = {**os.environ, "TFBRIDGE_SOMETHING": "1"}
    run_in_process(["verify", str(tmp_path / "missing.h5")], env, tmp_path, 60)
    assert (dict(os.environ), os.getcwd(), signal.getsignal(signal.SIGINT)) == before
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGALRM)) == before_handlers
