"""The committed locks: current with their profiles, hash-pinned, installable on their targets."""

from pathlib import Path

import pytest
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import parse_wheel_filename

from tfbridge.envs.lock import check_lock, read_lock, write_venv_lock
from tfbridge.envs.lock.venv import compose_lock, lock_path
from tfbridge.envs.profiles import load_profile, profile_names
from tfbridge.errors import EXIT_USAGE, TfbridgeError

PAIRS = [(name, platform) for name in profile_names() for platform in load_profile(name).platforms]


def _platform_tags(platform: str) -> list[str]:
    if platform == "linux-64":
        return [f"manylinux_2_{minor}_x86_64" for minor in range(17, 4, -1)] + [
            "manylinux2014_x86_64",
            "manylinux2010_x86_64",
            "manylinux1_x86_64",
            "linux_x86_64",
        ]
    if platform == "win-64":
        return ["win_amd64"]
    arch = "arm64" if platform == "osx-arm64" else "x86_64"
    extra = ["universal2"] if arch == "arm64" else ["intel", "fat64", "universal2", "universal"]
    majors = [(12, 0), (11, 0)] + [(10, minor) for minor in range(16, 8, -1)]
    return [f"macosx_{major}_{minor}_{a}" for major, minor in majors for a in (arch, *extra)]


def _supported_tags(python: str, platform: str) -> set[Tag]:
    version = tuple(int(part) for part in python.split("."))
    platforms = _platform_tags(platform)
    return set(cpython_tags(version, platforms=platforms)) | set(
        compatible_tags(version, f"cp{version[0]}{version[1]}", platforms)
    )


def test_every_profile_platform_pair_has_a_lock() -> None:
    assert ("exam", "linux-64") in PAIRS and ("metal", "osx-arm64") in PAIRS
    assert len(PAIRS) == 4


@pytest.mark.parametrize(("profile", "platform"), PAIRS)
def test_committed_lock_is_current_with_its_profile(profile: str, platform: str) -> None:
    state = check_lock(load_profile(profile), platform)
    assert state.problem is None


@pytest.mark.parametrize(("profile", "platform"), PAIRS)
def test_every_locked_distribution_installs_on_its_target(profile: str, platform: str) -> None:
    loaded = load_profile(profile)
    lock = read_lock(check_lock(loaded, platform).path)
    supported = _supported_tags(lock.python, platform)
    for package in lock.packages:
        assert package.hashed, f"{package.name} has an artifact without a sha256"
        if package.sdist is not None:
            assert package.name in loaded.pure_python_sdists, f"{package.name} would need a build"
            continue
        tags = {tag for wheel in package.wheels for tag in parse_wheel_filename(wheel)[3]}
        assert tags & supported, f"{package.name} {package.version} has no wheel for {platform}"
    for name, version in loaded.pinned_versions.items():
        assert lock.version_of(name) == version
    assert lock.version_of("protobuf") == "3.19.6"


def test_a_changed_profile_makes_its_lock_stale(tmp_path: Path) -> None:
    source = load_profile("exam").source.read_text()
    (tmp_path / "exam.yml").write_text(source.replace("pandas==1.4.2", "pandas==1.4.3"))
    changed = load_profile("exam", tmp_path)
    state = check_lock(changed, "linux-64")
    assert state.exists and not state.current
    assert "does not match profile 'exam'" in (state.problem or "")


@pytest.mark.parametrize(("profile", "platform"), PAIRS)
def test_each_committed_lock_is_byte_for_byte_what_the_lock_writer_writes(
    profile: str, platform: str
) -> None:
    """The writer (uv's package list as uv wrote it, then tfbridge's tables by tomli-w) and the
    committed locks agree, so a re-lock changes only what uv resolves differently."""
    loaded = load_profile(profile)
    committed = lock_path(loaded, platform).read_text()
    uv_wrote = committed.split("\n[tool.tfbridge]\n", 1)[0]
    assert compose_lock(loaded, platform, uv_wrote) == committed


@pytest.mark.slow  # real uv installs
def test_relocking_with_uv_reproduces_the_committed_pins(tmp_path: Path) -> None:
    """A real resolution with uv: the exam pins and the protobuf bound that makes TF 2.9 import."""
    exam = load_profile("exam")
    fresh = write_venv_lock(exam, "linux-64", tmp_path)
    committed = read_lock(check_lock(exam, "linux-64").path)
    assert fresh.profile_digest == committed.profile_digest
    for name in [*exam.pinned_versions, "protobuf", "keras", "promise"]:
        assert fresh.version_of(name) == committed.version_of(name), name
    assert fresh.path.name == "pylock.exam-linux-64.toml"
    assert fresh.recorded_digests == fresh.package_digests and fresh.hand_edit is None


@pytest.mark.slow  # real uv installs
def test_pins_that_cannot_be_installed_together_are_the_profiles_fault(tmp_path: Path) -> None:
    """uv's own reason, exit 2 (fix the profile), not exit 3 (the network or uv failing)."""
    source = load_profile("exam").source.read_text()
    (tmp_path / "exam.yml").write_text(
        source.replace("numpy==1.22.4", "numpy==1.22.4\n      - numpy>=1.24")
    )
    with pytest.raises(TfbridgeError) as caught:
        write_venv_lock(load_profile("exam", tmp_path), "linux-64", tmp_path / "locks")
    assert caught.value.exit_code == EXIT_USAGE
    assert "No solution found when resolving dependencies" in caught.value.message
    assert "you require numpy==1.22.4 and numpy>=1.24" in caught.value.message
    assert not (tmp_path / "locks" / "pylock.exam-linux-64.toml").exists()
