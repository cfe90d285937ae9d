"""The project's training history: one JSON line per run in `.tfbridge/runs.jsonl`."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tfbridge.errors import TfbridgeError
from tfbridge.paths import project_state_dir

RUNS_FILENAME = "runs.jsonl"


@dataclass(frozen=True)
class ModelOutcome:
    """A model the run wrote, its fingerprint (None if it could not be taken) and its verdict."""

    path: str
    verdict: str
    fingerprint: str | None = None
    problem: str = ""


@dataclass(frozen=True)
class RunRecord:
    started_at: str
    script: str
    args: list[str]
    profile: str
    python: str
    device: str
    duration_seconds: float
    exit_code: int
    models: list[ModelOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and all(model.verdict != "fail" for model in self.models)


def runs_file(state_dir: Path | None = None) -> Path:
    return (state_dir or project_state_dir()) / RUNS_FILENAME


def append_run(record: RunRecord, state_dir: Path | None = None) -> Path:
    path = runs_file(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as stream:
        stream.write(json.dumps(dataclasses.asdict(record), sort_keys=True) + "\n")
    return path


def read_runs(state_dir: Path | None = None) -> list[RunRecord]:
    """All recorded runs, oldest first; none when the project has never trained."""
    path = runs_file(state_dir)
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            records.append(_parse_line(line, path, number))
    return records


def _parse_line(line: str, path: Path, number: int) -> RunRecord:
    try:
        data: dict[str, Any] = json.loads(line)
        models = [ModelOutcome(**model) for model in data.pop("models", [])]
        return RunRecord(**data, models=models)
    except (ValueError, TypeError) as error:
        raise TfbridgeError(
            f"{path}:{number} is not a run record ({error})",
            "delete that line (the file is tfbridge's training log; every other line is kept)",
        ) from None
