"""Slots are the directories they really are: a symlinked slot directory that is another slot's is
refused with both names before anything is sent or moved, locally and over SSH."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from sync_processes import models_in

from tests.conftest import assert_one_line_error, run_tfbridge

ProjectMaker = Callable[..., Path]


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


@pytest.mark.parametrize(
    "command", [("sync", "q2"), ("sync",), ("sync", "rollback", "q2"), ("sync", "status")]
)
def test_slot_symlinked_to_another_slots_directory_is_refused_with_both_names(
    dest: str,
    make_project: ProjectMaker,
    exam_dir: Path,
    models: dict[str, Path],
    command: tuple[str, ...],
) -> None:
    root = make_project(dest, slots={"q1": ("first", "Category1")})
    assert run_tfbridge("sync", cwd=root).returncode == 0
    (exam_dir / "Alias").symlink_to("Category1")
    root = make_project(dest, slots={"q1": ("first", "Category1"), "q2": ("second", "Alias")})
    before = _snapshot(exam_dir)

    done = run_tfbridge(*command, cwd=root)

    line = assert_one_line_error(done, code=2)
    assert "slots q1 and q2 both land in" in line and "Category1" in line
    assert _snapshot(exam_dir) == before, "something was sent or moved"
    assert models_in(exam_dir / "Category1") == ["q1.h5"]
    assert (exam_dir / "Category1" / "q1.h5").read_bytes() == models["first"].read_bytes()


def test_slot_symlinked_into_the_history_is_refused(
    dest: str, make_project: ProjectMaker, exam_dir: Path
) -> None:
    root = make_project(dest)
    assert run_tfbridge("sync", cwd=root).returncode == 0
    (exam_dir / "Sneaky").symlink_to(".tfbridge-history")
    root = make_project(dest, slots={"q1": ("first", "Category1"), "q2": ("second", "Sneaky")})
    line = assert_one_line_error(run_tfbridge("sync", cwd=root), code=2)
    assert "slot q2: remote_dir 'Sneaky' leads to" in line
    assert "not to a question directory of its own" in line


def test_slot_symlinked_to_its_own_directory_inside_the_target_is_followed(
    dest: str, make_project: ProjectMaker, exam_dir: Path, models: dict[str, Path]
) -> None:
    (exam_dir / "real" / "q1").mkdir(parents=True)
    (exam_dir / "Category1").symlink_to(Path("real") / "q1")
    root = make_project(dest)
    done = run_tfbridge("sync", cwd=root)
    assert done.returncode == 0, done.stderr
    assert os.listdir(exam_dir / "real" / "q1") == ["q1.h5"]
    assert (exam_dir / "Category1").is_symlink()
    assert (exam_dir / "real" / "q1" / "q1.h5").read_bytes() == models["first"].read_bytes()


def test_slot_directories_differing_only_in_case_are_one_directory(
    dest: str, make_project: ProjectMaker, exam_dir: Path
) -> None:
    """On macOS and Windows `Category1` and `category1` are one directory: refused everywhere."""
    (exam_dir / "category1").mkdir()
    (exam_dir / "Alias").symlink_to("category1")
    root = make_project(dest, slots={"q1": ("first", "Category1"), "q2": ("second", "Alias")})
    line = assert_one_line_error(run_tfbridge("sync", cwd=root), code=2)
    assert "slots q1 and q2 both land in" in line and "case ignored" in line
    assert os.listdir(exam_dir / "category1") == []
