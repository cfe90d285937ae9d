"""The conda backend up to its seam: what conda-lock is handed, and reading its lockfile back with
conda-lock's own models. `run_conda_lock` itself needs conda channels and is not run here."""

from collections.abc import Sequence
from pathlib import Path

import pytest
from conda_lock.lockfile import write_conda_lock_file
from conda_lock.lockfile.v2prelim.models import LockedDependency, Lockfile, LockMeta

import tfbridge.envs.lock.conda as conda
from tfbridge.envs.profiles import load_profile
from tfbridge.errors import TfbridgeError


def _lockfile_for(platforms: Sequence[str]) -> Lockfile:
    packages = [
        LockedDependency(
            name=name,
            version=version,
            manager=manager,
            platform=platform,
            dependencies={},
            categories={"main"},
            url=f"https://example.invalid/{name}-{version}",
            hash={"md5": "0" * 32, "sha256": "0" * 64}
            if manager == "conda"
            else {"sha256": "0" * 64},
        )
        for platform in platforms
        for name, version, manager in (
            ("python", "3.8.18", "conda"),
            ("tensorflow", "2.9.0", "pip"),
        )
    ]
    meta = LockMeta(
        content_hash={p: "x" for p in platforms},
        channels=[],
        platforms=list(platforms),
        sources=["exam.yml"],
    )
    return Lockfile(package=packages, metadata=meta)


def test_lock_command_hands_conda_lock_the_profile_file_and_its_platforms() -> None:
    exam = load_profile("exam")
    args = conda.lock_command(exam, Path("/out/conda-lock.exam.yml"))
    assert args[:3] == ("conda-lock", "lock", "--file")
    assert Path(args[3]) == exam.source
    assert args[args.index("--lockfile") + 1] == "/out/conda-lock.exam.yml"
    assert [args[i + 1] for i, a in enumerate(args) if a == "--platform"] == list(exam.platforms)


def test_write_conda_lock_runs_the_seam_and_reads_the_result_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Sequence[str]] = []

    def fake_conda_lock(args: Sequence[str]) -> None:
        calls.append(args)
        output = Path(args[args.index("--lockfile") + 1])
        write_conda_lock_file(_lockfile_for(["linux-64"]), output, metadata_choices=None)

    monkeypatch.setattr(conda, "run_conda_lock", fake_conda_lock)
    written = conda.write_conda_lock(load_profile("exam"), ["linux-64"], tmp_path)
    assert written == tmp_path / "conda-lock.exam.yml"
    assert conda.read_conda_lock(written) == {"linux-64": ["python==3.8.18", "tensorflow==2.9.0"]}
    assert calls and calls[0][-2:] == ("--platform", "linux-64")


def test_a_failed_conda_lock_run_leaves_no_lockfile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(args: Sequence[str]) -> None:
        raise TfbridgeError("conda-lock failed: channel unreachable", "check the channels")

    monkeypatch.setattr(conda, "run_conda_lock", failing)
    with pytest.raises(TfbridgeError, match="channel unreachable"):
        conda.write_conda_lock(load_profile("exam"), (), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_not_a_conda_lockfile_is_named(tmp_path: Path) -> None:
    bogus = tmp_path / "conda-lock.exam.yml"
    bogus.write_text("hello: world\n")
    with pytest.raises(TfbridgeError, match="is not a conda-lock lockfile"):
        conda.read_conda_lock(bogus)


def test_install_command_targets_the_prefix() -> None:
    assert conda.install_command(Path("l.yml"), Path("/envs/exam")) == (
        "conda-lock",
        "install",
        "--prefix",
        "/envs/exam",
        "l.yml",
    )


def test_missing_conda_lock_binary_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(TfbridgeError, match="conda-lock is not on PATH"):
        conda.run_conda_lock(["conda-lock", "--version"])
