"""Platform facts: each committed lock installed for real for its own platform (uv, from its cache),
every native file read with the real readers, compared with the committed facts; and this OS
compared with them before anything is installed.

The only seam replaced is `tfbridge.envs.hardware.read_facts`, the one function that says which
machine and OS version this is, to play Macs this Linux machine is not.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

import tfbridge.envs.hardware
from tests.conftest import REPO, run_tfbridge
from tfbridge.doctor import diagnose
from tfbridge.envs import Step, setup_profile
from tfbridge.envs.hardware import RawFacts, read_facts
from tfbridge.envs.lock.binaries import Slice, read_native_file
from tfbridge.envs.lock.dialect import dialect_problem, exam_dialect
from tfbridge.envs.lock.facts import facts_path
from tfbridge.envs.lock.facts import read_facts as read_platform_facts
from tfbridge.envs.lock.inspect import (
    facts_of_install,
    generate_facts,
    install_for_platform,
    without_sdist_only_packages,
)
from tfbridge.envs.lock.venv import lock_path, read_lock
from tfbridge.envs.os_support import CPU_FALLBACK_HINT, gpu_plugin_need
from tfbridge.envs.profiles import load_profile, profile_names
from tfbridge.errors import EXIT_ENVIRONMENT, EnvironmentFailure, TfbridgeError

PAIRS = [(name, platform) for name in profile_names() for platform in load_profile(name).platforms]
METAL = load_profile("metal")
READERS = ("macholib", "elftools", "pefile")

Play = Callable[[RawFacts], None]


@pytest.fixture
def play(monkeypatch: pytest.MonkeyPatch) -> Play:
    """Make this process believe it runs on the machine the given raw facts describe."""
    return lambda facts: monkeypatch.setattr(tfbridge.envs.hardware, "read_facts", lambda: facts)


@pytest.fixture
def empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TFBRIDGE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture(scope="module")
def metal_install(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The metal lock installed as an Apple Silicon Python 3.8 would get it."""
    scratch = tmp_path_factory.mktemp("metal-install")
    return install_for_platform(METAL, "osx-arm64", lock_path(METAL, "osx-arm64"), scratch)


def _apple_silicon(version: str) -> RawFacts:
    return RawFacts("darwin", "arm64", os_version=version)


def _envs_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "envs"
    shutil.copytree(REPO / "envs", copy)
    return copy


def _lock_check(envs: Path) -> tuple[int, dict[str, dict[str, str]]]:
    done = run_tfbridge("lock", "--check", "--json", env={"TFBRIDGE_PROFILES": str(envs)})
    rows = {f"{r['profile']}-{r['platform']}": r for r in json.loads(done.stdout)["locks"]}
    return done.returncode, rows


# The binaries themselves.


@pytest.mark.slow  # real uv installs
def test_metal_binaries_need_macos_11_3_and_the_gpu_plugin_12_3(metal_install: Path) -> None:
    lock = lock_path(METAL, "osx-arm64")
    facts = facts_of_install(METAL, "osx-arm64", lock, metal_install)
    tensorflow = facts.package("tensorflow-macos")
    plugin = facts.package("tensorflow-metal")
    assert tensorflow is not None and plugin is not None
    assert (tensorflow.version, tensorflow.native_files) == ("2.9.2", 67)
    assert (tensorflow.architectures, tensorflow.minimum_os) == (("arm64",), "11.3")
    assert (plugin.version, plugin.native_files, plugin.minimum_os) == ("0.5.0", 1, "12.3")
    assert plugin.set_by == "tensorflow-plugins/libmetal_plugin.dylib"
    assert facts.keras_requirements == {"tensorflow-macos": "keras<2.10.0,>=2.9.0rc0"}
    # The wheel tags say macOS 11.0 for both: the binaries say more.
    wheels = {p.name: p.wheels for p in read_lock(lock).packages}
    assert all("macosx_11_0_arm64" in w for w in wheels["tensorflow-macos"])


@pytest.mark.slow  # metal_install: a real uv install
def test_a_fat_file_is_read_slice_by_slice(metal_install: Path) -> None:
    native = read_native_file(metal_install / "charset_normalizer" / "cd.abi3.so", "mach-o")
    assert native.slices == (Slice("x86_64", "10.9"), Slice("arm64", "11.0"))


@pytest.mark.slow  # metal_install: a real uv install
def test_the_install_builds_no_sdist(metal_install: Path) -> None:
    lock_text = lock_path(METAL, "osx-arm64").read_text()
    assert 'name = "promise"' in lock_text
    assert 'name = "promise"' not in without_sdist_only_packages(lock_text)
    assert not list(metal_install.glob("promise*"))
    assert list(metal_install.glob("tensorflow_macos-2.9.2.dist-info"))


@pytest.mark.slow  # real uv installs
@pytest.mark.parametrize(("profile", "platform"), PAIRS)
def test_committed_facts_are_what_the_binaries_say(profile: str, platform: str) -> None:
    loaded = load_profile(profile)
    committed = read_platform_facts(facts_path(loaded, platform))
    assert generate_facts(loaded, platform) == committed, (
        f"stale: run `tfbridge lock {profile} --facts-only` and commit the facts"
    )


def test_committed_facts_of_linux_and_windows_locks() -> None:
    exam = load_profile("exam")
    linux = read_platform_facts(facts_path(exam, "linux-64"))
    windows = read_platform_facts(facts_path(exam, "win-64"))
    tensorflow = linux.package("tensorflow")
    assert tensorflow is not None and linux.os == "glibc"
    assert (tensorflow.architectures, tensorflow.minimum_os) == (("x86_64",), "2.17")
    win_tensorflow = windows.package("tensorflow")
    assert win_tensorflow is not None and win_tensorflow.architectures == ("x86_64",)
    assert win_tensorflow.minimum_os is None  # PE files carry no minimum recorded here


# lock --check: missing, stale, and the dialect promise.


def test_lock_check_passes_on_the_committed_locks_and_facts(tmp_path: Path) -> None:
    code, rows = _lock_check(_envs_copy(tmp_path))
    assert code == 0
    assert {row["status"] for row in rows.values()} == {"current"}


def test_lock_check_fails_on_stale_and_missing_facts(tmp_path: Path) -> None:
    envs = _envs_copy(tmp_path)
    with (envs / "locks" / "pylock.metal-osx-arm64.toml").open("a") as lock:
        lock.write("# re-locked by hand\n")
    (envs / "locks" / "facts.exam-linux-64.json").unlink()
    code, rows = _lock_check(envs)
    assert code == 1
    assert rows["metal-osx-arm64"]["problem"] == (
        "platform facts facts.metal-osx-arm64.json were read from another "
        "pylock.metal-osx-arm64.toml (stale)"
    )
    assert rows["exam-linux-64"]["problem"] == (
        "no platform facts for pylock.exam-linux-64.toml (facts.exam-linux-64.json is missing)"
    )
    assert rows["exam-osx-64"]["status"] == "current"


def test_a_relock_that_leaves_the_exam_dialect_is_a_problem() -> None:
    """A re-lock (taken as written: the lock file itself refuses hand edits) that moves the Python,
    the Keras, or TensorFlow's own keras requirement away from the exam's."""
    lock = read_lock(lock_path(METAL, "osx-arm64"))
    facts = read_platform_facts(facts_path(METAL, "osx-arm64"))
    exam = exam_dialect()
    assert (exam.python, exam.keras) == ("3.8", "2.9.0")
    assert dialect_problem(lock, facts, exam) is None
    other_python = replace(lock, python="3.9")
    assert dialect_problem(other_python, facts, exam) == (
        "pylock.metal-osx-arm64.toml is for Python 3.9; the exam's is 3.8"
    )
    newer_keras = replace(
        lock,
        packages=tuple(
            replace(p, version="2.10.0") if p.name == "keras" else p for p in lock.packages
        ),
    )
    assert dialect_problem(newer_keras, facts, exam) == (
        "pylock.metal-osx-arm64.toml brings Keras 2.10.0; the exam's is 2.9.0"
    )
    narrower = replace(facts, keras_requirements={"tensorflow-macos": "keras<2.9"})
    assert dialect_problem(lock, narrower, exam) == (
        "tensorflow-macos in pylock.metal-osx-arm64.toml asks for keras<2.9; "
        "the lock has keras 2.9.0"
    )


def test_check_and_doctor_need_no_reader_and_no_tensorflow(tmp_path: Path) -> None:
    """With the binary readers made unimportable: the committed facts are enough, and generating
    facts says which extra to install."""
    blocked = "; ".join(f"sys.modules[{name!r}] = None" for name in READERS)
    probe = (
        f"import sys; {blocked}\n"
        "from tfbridge.cli.main import run\n"
        "try:\n    run()\nexcept SystemExit as exit:\n    code = exit.code\n"
        "print('LOADED', [m for m in ('tensorflow', 'macholib', 'elftools', 'pefile')"
        " if sys.modules.get(m) is not None], 'CODE', code)\n"
    )

    def tfbridge_without_readers(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "TFBRIDGE_HOME": str(tmp_path / "home")}
        return subprocess.run(
            [sys.executable, "-c", probe, *args],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )

    assert "LOADED [] CODE 0" in tfbridge_without_readers("lock", "--check").stdout
    doctor = tfbridge_without_readers("doctor", "--json", "--no-devices")
    assert "LOADED [] CODE 0" in doctor.stdout
    facts = tfbridge_without_readers("lock", "exam", "--platform", "linux-64", "--facts-only")
    assert "CODE 3" in facts.stdout
    assert facts.stderr.strip().splitlines()[-1] == (
        "error: reading the locks' binaries needs macholib, pyelftools, pefile, "
        "not installed here. "
        "Install tfbridge with its lock extra: pip install 'tfbridge[lock]'."
    )


# This machine's OS, and the Macs it plays.


def test_this_linux_reports_its_glibc_and_doctor_shows_the_check(tmp_path: Path) -> None:
    glibc = platform.libc_ver()[1]
    assert read_facts().os_version == glibc
    done = run_tfbridge("doctor", "--json", "--no-devices", env={"TFBRIDGE_HOME": str(tmp_path)})
    findings = {f["subject"]: f for f in json.loads(done.stdout)["findings"]}
    assert findings["os exam"]["level"] == "pass"
    assert findings["os exam"]["message"] == (
        f"this machine runs glibc {glibc}; the most any native file needs: "
        "tensorboard-data-server 0.6.1 needs glibc 2.18"
    )
    assert f"glibc {glibc}" in findings["hardware"]["message"]


@pytest.mark.parametrize(
    ("version", "level", "message", "hint"),
    [
        (
            "11.0",
            "fail",
            "profile 'metal' cannot run here: tensorflow-macos 2.9.2 needs macOS 11.3; "
            "this Mac runs 11.0",
            "update macOS to 11.3 or later (macOS 12.3 or later for the GPU plugin)",
        ),
        (
            "12.1",
            "warn",
            "tensorflow-metal 0.5.0's GPU plugin needs macOS 12.3; this Mac runs 12.1",
            CPU_FALLBACK_HINT,
        ),
        (
            "12.3",
            "pass",
            "this machine runs macOS 12.3; the most any native file needs: "
            "tensorflow-metal 0.5.0 needs macOS 12.3",
            "",
        ),
        (
            "14.5",
            "pass",
            "this machine runs macOS 14.5; the most any native file needs: "
            "tensorflow-metal 0.5.0 needs macOS 12.3",
            "",
        ),
    ],
)
def test_doctor_judges_the_metal_lock_on_played_macos_versions(
    play: Play, empty_home: Path, version: str, level: str, message: str, hint: str
) -> None:
    play(_apple_silicon(version))
    report = diagnose(check_devices=False)
    assert report.default_profile == "metal"
    finding = next(f for f in report.findings if f.subject == "os metal")
    assert (finding.level, finding.message, finding.hint) == (level, message, hint)
    assert report.broken is (level == "fail")


def test_setup_metal_on_macos_11_0_is_refused_before_anything_is_installed(
    play: Play, empty_home: Path
) -> None:
    play(_apple_silicon("11.0"))
    said: list[Step] = []
    with pytest.raises(EnvironmentFailure) as refused:
        setup_profile("metal", progress=said.append)
    assert refused.value.exit_code == EXIT_ENVIRONMENT
    assert refused.value.one_line() == (
        "profile 'metal' cannot run here: tensorflow-macos 2.9.2 needs macOS 11.3; this Mac runs "
        "11.0. Update macOS to 11.3 or later (macOS 12.3 or later for the GPU plugin)."
    )
    assert said == []
    assert not (empty_home / "envs").exists()


def test_setup_metal_on_macos_12_1_says_what_the_gpu_plugin_needs_first(
    play: Play, empty_home: Path
) -> None:
    play(_apple_silicon("12.1"))
    said: list[Step] = []
    with pytest.raises(TfbridgeError):  # past the warning, this Linux has no arm64 Python 3.8
        setup_profile("metal", progress=said.append)
    assert said[0].text == (
        "warning: tensorflow-metal 0.5.0's GPU plugin needs macOS 12.3; this Mac runs 12.1: "
        "update macOS, or train on the CPU with `--allow-cpu`"
    )


def test_setup_exam_is_refused_on_an_old_intel_mac_and_an_old_glibc(
    play: Play, empty_home: Path
) -> None:
    play(RawFacts("darwin", "x86_64", False, frozenset({"avx"}), "10.14.6"))
    with pytest.raises(EnvironmentFailure) as old_mac:
        setup_profile("exam")
    assert old_mac.value.message == (
        "profile 'exam' cannot run here: pillow 9.1.1 needs macOS 11.0; this Mac runs 10.14.6 "
        "(also tensorflow 2.9.0, numpy 1.22.4)"
    )
    play(RawFacts("linux", "x86_64", False, frozenset({"avx"}), "2.12"))
    with pytest.raises(EnvironmentFailure) as old_linux:
        setup_profile("exam")
    assert old_linux.value.message.startswith(
        "profile 'exam' cannot run here: tensorflow 2.9.0 needs glibc 2.17; "
        "this Linux has glibc 2.12 (also numpy 1.22.4, pillow 9.1.1, scipy 1.7.3, "
    )
    assert old_linux.value.hint == "update glibc to 2.17 or later"
    assert not (empty_home / "envs").exists()


def test_an_apple_silicon_mac_under_rosetta(play: Play, empty_home: Path) -> None:
    play(RawFacts("darwin", "x86_64", True, frozenset({"sse4_2"}), "14.5"))
    report = diagnose(check_devices=False)
    findings = {f.subject: f for f in report.findings}
    assert findings["hardware"].level == "warn"
    assert findings["profile metal"].level == "skip"
    # The exam lock's osx-64 binaries are x86_64 and need at most macOS 12.1: not the problem.
    assert findings["os exam"].level == "pass"
    with pytest.raises(TfbridgeError, match="does not support osx-64"):
        setup_profile("metal")


def test_gpu_plugin_need_comes_from_the_facts() -> None:
    assert gpu_plugin_need(METAL, "osx-arm64") == "macOS 12.3"
    assert gpu_plugin_need(load_profile("exam"), "linux-64") is None
