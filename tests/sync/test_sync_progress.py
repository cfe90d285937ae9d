"""sync reports its phases through tfbridge.phases (per slot, n of N, bytes while sending), and
the CLI shows them on stderr: lines off a terminal, nothing with -q or --json."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from tests.conftest import run_tfbridge
from tfbridge.config import load_config
from tfbridge.contract import Contract
from tfbridge.phases import Phase
from tfbridge.sync import sync
from tfbridge.verify.result import ModelReport

ProjectMaker = Callable[..., Path]
TWO_SLOTS = {"q1": ("first", "Category1"), "q2": ("big", "Category2")}


def _passes(models: Sequence[tuple[Path, Contract]]) -> list[ModelReport]:
    return [ModelReport(path, "pass") for path, _ in models]


def test_a_send_reports_verify_upload_and_place_for_each_slot_n_of_n(
    make_project: ProjectMaker, exam_dir: Path
) -> None:
    config = load_config(make_project(str(exam_dir), TWO_SLOTS))
    phases: list[Phase] = []
    sync(config, gate=_passes, progress=phases.append)

    steps = [(p.item, p.stage, p.n, p.of) for p in phases if p.stage != "upload" or p.done == 0]
    assert steps == [
        ("q1", "verify", 1, 2),
        ("q2", "verify", 2, 2),
        ("q1", "upload", 1, 2),
        ("q1", "place", 1, 2),
        ("q2", "upload", 2, 2),
        ("q2", "place", 2, 2),
    ]
    sent = [p.done for p in phases if p.item == "q2" and p.stage == "upload"]
    size = (config.root / "models" / "q2.h5").stat().st_size
    assert sent == sorted(sent) and sent[-1] == size and len(sent) > 2  # bytes as they go


def test_a_model_that_may_be_in_place_is_hashed_and_says_so(
    make_project: ProjectMaker, exam_dir: Path, models: dict[str, Path]
) -> None:
    config = load_config(make_project(str(exam_dir), TWO_SLOTS))
    sync(config, gate=_passes)
    shutil.copy(models["second"], config.root / "models" / "q1.h5")  # same size, other weights
    phases: list[Phase] = []
    report = sync(config, gate=_passes, progress=phases.append)

    assert [slot.action for slot in report.slots] == ["sent", "unchanged"]
    hashed = [(p.item, p.n, p.of) for p in phases if p.stage == "hash"]
    assert ("q1", 1, len(hashed)) in hashed


def test_the_cli_prints_each_phase_on_stderr_and_nothing_when_quiet_or_json(
    make_project: ProjectMaker, exam_dir: Path, models: dict[str, Path]
) -> None:
    root = make_project(str(exam_dir), TWO_SLOTS)
    loud = run_tfbridge("sync", cwd=root)
    assert loud.returncode == 0, loud.stderr
    lines = loud.stderr.splitlines()
    for expected in ("q1 (1/2): verify", "q2 (2/2): verify", "q1 (1/2): place", "q2 (2/2): place"):
        assert expected in lines, loud.stderr
    assert any(line.startswith("q2 (2/2): upload ") and line.endswith(" MB") for line in lines)

    for flag, model in (("-q", "second"), ("--json", "first")):
        for name in ("q1", "q2"):
            shutil.copy(models[model], root / "models" / f"{name}.h5")
        done = run_tfbridge("sync", flag, cwd=root)
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        assert (exam_dir / "Category2" / "q2.h5").read_bytes() == models[model].read_bytes()
