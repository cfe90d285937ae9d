"""`tfbridge setup` when things go wrong, for real: two setups at once, a failed or interrupted
setup with --prefix, hand-edited and unreadable locks. One real exam build (two processes racing
for it) in a fresh TFBRIDGE_HOME is shared by the tests of this module."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, assert_one_line_error, run_tfbridge
from tfbridge.envs import detect, load_profile
from tfbridge.envs.lock.venv import compose_lock
from tfbridge.envs.prefixes import REGISTRY

ABSL_SHA256 = "0d3fe606adfa4f7db64792dd4c7aee4ee0c38ab75dfd353b7a83ed3e957fcb47"
WRONG_SHA256 = "0" * 64


@dataclass(frozen=True)
class Finished:
    pid: int
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class RacedHome:
    home: Path
    first: Finished
    second: Finished

    @property
    def env(self) -> dict[str, str]:
        return {"TFBRIDGE_HOME": str(self.home)}


def _start_setup(home: Path, *args: str | Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tfbridge", "setup", "exam", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TFBRIDGE_HOME": str(home)},
    )


def _finish(process: subprocess.Popen[str]) -> Finished:
    stdout, stderr = process.communicate(timeout=900)
    return Finished(process.pid, process.returncode, stdout, stderr)


def _wait_for(predicate: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _holds_lock(lock: Path, pid: int) -> bool:
    try:
        return lock.read_text() == str(pid)
    except OSError:
        return False


@pytest.fixture(scope="module")
def raced(tmp_path_factory: pytest.TempPathFactory) -> RacedHome:
    """Two real `tfbridge setup exam` runs in one fresh data directory, the second started while
    the first holds the build lock."""
    home = tmp_path_factory.mktemp("raced") / "home"
    first = _start_setup(home)
    assert _wait_for(lambda: _holds_lock(home / "envs" / ".exam.setup-lock", first.pid), 120)
    second = _start_setup(home)
    return RacedHome(home, _finish(first), _finish(second))


def _env_list(env: dict[str, str]) -> dict[str, dict[str, object]]:
    done = run_tfbridge("env", "list", "--json", env=env)
    assert done.returncode == 0, done.stderr
    return {row["profile"]: row for row in json.loads(done.stdout)["envs"]}


def _assert_exam_ready_in_home(raced: RacedHome) -> None:
    exam = _env_list(raced.env)["exam"]
    assert exam["ready"] and exam["current"], exam
    assert exam["path"] == str(raced.home / "envs" / "exam")
    registry = raced.home / REGISTRY
    assert not registry.exists() or json.loads(registry.read_text()) == {}


def _profiles_with_lock(tmp_path: Path, edit: Callable[[str], str]) -> tuple[Path, Path]:
    """A copy of the repository's profiles whose lock for this machine went through `edit`."""
    profiles = tmp_path / "profiles"
    shutil.copytree(REPO / "envs", profiles)
    lock = profiles / "locks" / f"pylock.exam-{detect().conda_platform}.toml"
    lock.write_text(edit(lock.read_text()))
    return profiles, lock


def _wrong_absl_hash(text: str) -> str:
    assert ABSL_SHA256 in text
    return text.replace(ABSL_SHA256, WRONG_SHA256)


def _wrong_absl_hash_with_matching_digests(text: str) -> str:
    """As if the lock had been regenerated against a PyPI that served other bytes."""
    edited = _wrong_absl_hash(text)
    platform = detect().conda_platform
    return compose_lock(load_profile("exam"), platform, edited.split("\n[tool.tfbridge]\n")[0])


@pytest.mark.slow  # real uv installs
def test_two_setups_at_once_both_succeed_and_the_second_waits(raced: RacedHome) -> None:
    assert raced.first.returncode == 0, raced.first.stderr
    assert raced.second.returncode == 0, raced.second.stderr
    waiting = f"waiting for another setup of 'exam' (pid {raced.first.pid}) to finish"
    assert raced.second.stderr.count(waiting) == 1, raced.second.stderr
    assert "exam: built in" in raced.first.stdout
    assert "exam: already up to date" in raced.second.stdout
    _assert_exam_ready_in_home(raced)
    assert sorted(p.name for p in (raced.home / "envs").iterdir()) == ["exam"]


@pytest.mark.slow  # real uv installs
def test_a_failed_setup_with_a_prefix_records_nothing(raced: RacedHome, tmp_path: Path) -> None:
    prefix = tmp_path / "elsewhere"
    no_python = run_tfbridge(
        "setup", "exam", "--prefix", prefix, "--python", "/no/python", env=raced.env
    )
    assert "--python /no/python does not run" in assert_one_line_error(no_python)
    no_conda_lock = run_tfbridge(
        "setup", "exam", "--backend", "conda", "--prefix", prefix, env=raced.env
    )
    assert "no conda lock for profile 'exam'" in assert_one_line_error(no_conda_lock)
    assert not prefix.exists() or list(prefix.iterdir()) == []
    _assert_exam_ready_in_home(raced)

    # A one-shot worker: a warm one would outlive this test's temporary home.
    one_shot = {**raced.env, "TFBRIDGE_NO_DAEMON": "1"}
    verified = run_tfbridge("verify", REPO / "examples" / "mnist_dense.h5", "--json", env=one_shot)
    assert verified.returncode == 0, verified.stderr
    [model] = json.loads(verified.stdout)["models"]
    checks = {check["id"]: check["status"] for check in model["checks"]}
    assert checks["runtime.load"] == "pass" and checks["runtime.parity"] == "pass"


@pytest.mark.slow  # the raced fixture: real uv installs
def test_a_hand_edited_lock_is_refused_by_setup_and_named_by_lock_check(
    raced: RacedHome, tmp_path: Path
) -> None:
    profiles, lock = _profiles_with_lock(tmp_path, _wrong_absl_hash)
    env = {**raced.env, "TFBRIDGE_PROFILES": str(profiles)}
    prefix = tmp_path / "elsewhere"
    done = run_tfbridge("setup", "exam", "--prefix", prefix, "--json", env=env)
    line = assert_one_line_error(done, 2)
    assert f"{lock} was edited by hand (the version, files or sha256 of absl-py changed)" in line
    assert "Run `tfbridge lock exam`" in line
    error = json.loads(done.stdout)["error"]
    assert error["exit_code"] == 2 and "edited by hand" in error["message"]
    assert not prefix.exists()
    _assert_exam_ready_in_home(raced)

    check = run_tfbridge("lock", "--check", env=env)
    assert check.returncode == 1, check.stderr
    edited = [line for line in check.stdout.splitlines() if "edited by hand" in line]
    assert len(edited) == 1 and str(lock) in edited[0]
    assert check.stdout.count("current") == 3


@pytest.mark.slow  # the raced fixture: real uv installs
def test_a_lock_whose_sha256_is_not_pypis_fails_in_uvs_own_words(
    raced: RacedHome, tmp_path: Path
) -> None:
    profiles, _ = _profiles_with_lock(tmp_path, _wrong_absl_hash_with_matching_digests)
    env = {**raced.env, "TFBRIDGE_PROFILES": str(profiles)}
    prefix = tmp_path / "elsewhere"
    line = assert_one_line_error(run_tfbridge("setup", "exam", "--prefix", prefix, env=env), 3)
    assert "installing the 'exam' lock failed" in line
    assert "Hash mismatch for `absl-py==1.4.0`" in line
    assert "could not be reached" not in line
    assert list(prefix.iterdir()) == []
    _assert_exam_ready_in_home(raced)


def test_no_python_of_the_profiles_version_is_the_environment_failing(tmp_path: Path) -> None:
    """This machine's only Pythons outside pyenv are 3.11 (Debian's), so hiding pyenv and uv's
    Pythons leaves none of the exam's 3.8."""
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    home = tmp_path / "home"
    env = {
        "TFBRIDGE_HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "PYENV_ROOT": str(nowhere),
        "UV_PYTHON_INSTALL_DIR": str(nowhere),
    }
    done = run_tfbridge("setup", "exam", "--prefix", tmp_path / "elsewhere", env=env)
    line = assert_one_line_error(done, 3)
    assert "no Python 3.8 interpreter found" in line and "uv python install 3.8" in line
    assert not (home / REGISTRY).exists()


@pytest.mark.slow  # the raced fixture: real uv installs
def test_an_unreadable_lock_or_profile_is_one_line(raced: RacedHome, tmp_path: Path) -> None:
    profiles, lock = _profiles_with_lock(tmp_path, lambda text: text)
    env = {**raced.env, "TFBRIDGE_PROFILES": str(profiles)}
    lock.write_bytes(b"lock-version = \xff\xfe\n")
    setup_line = assert_one_line_error(run_tfbridge("setup", "exam", env=env))
    assert f"lock {lock} is unreadable" in setup_line
    assert f"lock {lock} is unreadable" in assert_one_line_error(
        run_tfbridge("lock", "--check", env=env)
    )
    (profiles / "exam.yml").write_bytes(b"channels: [conda-forge]\n\xff\n")
    assert "cannot read profile" in assert_one_line_error(run_tfbridge("setup", "exam", env=env))
    (profiles / "exam.yml").write_text("dependencies: [python=3.8]\ntfbridge: [1]\n")
    assert "is malformed" in assert_one_line_error(run_tfbridge("setup", "exam", env=env))


def test_an_unreadable_prefix_registry_is_one_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    registry = home / REGISTRY
    env = {"TFBRIDGE_HOME": str(home)}
    registry.write_text("[1, 2]")
    assert "is not a map of profile names" in assert_one_line_error(
        run_tfbridge("env", "list", env=env)
    )
    registry.unlink()
    os.mkfifo(registry)
    line = assert_one_line_error(run_tfbridge("env", "path", "exam", env=env, timeout=60))
    assert "a FIFO (named pipe), not a regular file" in line


@pytest.mark.slow  # the raced fixture: real uv installs
def test_only_partial_builds_of_dead_processes_are_removed(raced: RacedHome) -> None:
    envs = raced.home / "envs"
    finished = subprocess.Popen(["true"])
    finished.wait()
    dead = envs / f".exam.partial-{finished.pid}-0badc0de"
    dead_old = envs / f".exam.old-{finished.pid}-0badc0de"
    alive = envs / f".exam.partial-{os.getpid()}-0badc0de"
    for leftover in (dead, dead_old, alive):
        (leftover / "bin").mkdir(parents=True)
    try:
        done = run_tfbridge("setup", "exam", env=raced.env)
        assert done.returncode == 0, done.stderr
        assert "already up to date" in done.stdout
        assert not dead.exists() and not dead_old.exists()
        assert alive.is_dir(), "a build of a live process was removed"
    finally:
        shutil.rmtree(alive, ignore_errors=True)


@pytest.mark.slow  # real uv installs
def test_ctrl_c_during_setup_with_a_prefix_records_nothing_then_setup_succeeds(
    raced: RacedHome, tmp_path: Path
) -> None:
    prefix = tmp_path / "elsewhere"
    setup = _start_setup(raced.home, "--prefix", prefix)
    assert _wait_for(lambda: any(prefix.glob(".exam.partial-*/lib/python3.8/site-packages/*")), 120)
    setup.send_signal(signal.SIGINT)
    interrupted = _finish(setup)
    assert interrupted.returncode == 130
    assert interrupted.stderr.strip().splitlines()[-1].startswith("error: interrupted")
    assert list(prefix.iterdir()) == []
    _assert_exam_ready_in_home(raced)

    done = run_tfbridge("setup", "exam", "--prefix", prefix, env=raced.env)
    assert done.returncode == 0, done.stderr
    assert json.loads((raced.home / REGISTRY).read_text()) == {"exam": str(prefix)}
    located = run_tfbridge("env", "path", "exam", env=raced.env).stdout.strip()
    assert located == str(prefix / "exam" / "bin" / "python")
    removed = run_tfbridge("env", "remove", "exam", "--yes", env=raced.env)
    assert removed.returncode == 0, removed.stderr
    _assert_exam_ready_in_home(raced)
