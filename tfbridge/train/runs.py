"""The project's training history: one JSON line per run in `.tfbridge/runs.jsonl`."""

from __future__ import annotations

import dataclasses
import json
import signal
from dataclasses import dataclass, field
from pathlib import Path

from tfbridge.errors import TfbridgeError
from tfbridge.files import regular_file_problem, write_bytes_atomic
from tfbridge.paths import project_state_dir
from tfbridge.train.outputs import SkippedOutput

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
    exit_code: int  # negative: the script was killed by that signal (subprocess's convention)
    models: list[ModelOutcome] = field(default_factory=list)
    skipped: list[SkippedOutput] = field(default_factory=list)
    interrupted: bool = False  # Ctrl-C or SIGTERM stopped the run; its models were not checked

    @property
    def ok(self) -> bool:
        models_ok = all(model.verdict != "fail" for model in self.models)
        return self.exit_code == 0 and not self.interrupted and models_ok

    def describe_exit(self) -> str:
        """'exited 0', 'FAILED with exit code 3', 'killed by SIGKILL', 'interrupted'."""
        if self.interrupted:
            return "interrupted"
        if self.exit_code < 0:
            return f"killed by {_signal_name(-self.exit_code)}"
        if self.exit_code == 0:
            return "exited 0"
        return f"FAILED with exit code {self.exit_code}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def runs_file(state_dir: Path | None = None) -> Path:
    return (state_dir or project_state_dir()) / RUNS_FILENAME


def append_run(record: RunRecord, state_dir: Path | None = None) -> Path:
    """Add one line to the log, replacing the file atomically (never half a line)."""
    path = runs_file(state_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TfbridgeError(
            f"cannot create {path.parent} ({error.strerror})", "make the project folder writable"
        ) from None
    earlier = _read_bytes(path) if path.exists() or path.is_symlink() else b""
    if earlier and not earlier.endswith(b"\n"):
        earlier += b"\n"
    line = json.dumps(dataclasses.asdict(record), sort_keys=True) + "\n"
    write_bytes_atomic(path, earlier + line.encode("utf-8"))
    return path


def read_runs(state_dir: Path | None = None) -> list[RunRecord]:
    """All recorded runs, oldest first; none when the project has never trained."""
    path = runs_file(state_dir)
    if not path.exists() and not path.is_symlink():
        return []
    try:
        text = _read_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        raise _damaged(path, "it is not UTF-8 text") from None
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            records.append(_parse_line(line, path, number))
    return records


def _read_bytes(path: Path) -> bytes:
    problem = regular_file_problem(path)
    if problem is not None:
        raise _damaged(path, problem)
    try:
        return path.read_bytes()
    except OSError as error:
        raise _damaged(path, error.strerror or type(error).__name__) from None


def _damaged(path: Path, reason: str) -> TfbridgeError:
    return TfbridgeError(
        f"cannot read the training log {path}: {reason}",
        "move it aside (tfbridge starts a new log)",
    )


def _parse_line(line: str, path: Path, number: int) -> RunRecord:
    try:
        data = json.loads(line)
        if not isinstance(data, dict):
            raise TypeError(f"a JSON {type(data).__name__}, not an object")
        models = [ModelOutcome(**model) for model in data.pop("models", [])]
        skipped = [SkippedOutput(**entry) for entry in data.pop("skipped", [])]
        return RunRecord(**data, models=models, skipped=skipped)
    except (ValueError, TypeError, RecursionError) as error:
        raise TfbridgeError(
            f"{path}:{number} is not a run record ({str(error)[:200]})",
            "delete that line (the file is tfbridge's training log; every other line is kept)",
        ) from None
