"""The project's training history: one JSON line per run in `.tfbridge/runs.jsonl`."""

from __future__ import annotations

import signal
from pathlib import Path

import msgspec

from tfbridge import records
from tfbridge.errors import TfbridgeError
from tfbridge.files import regular_file_problem, write_bytes_atomic
from tfbridge.paths import project_state_dir
from tfbridge.train.outputs import SkippedOutput

RUNS_FILENAME = "runs.jsonl"


class ModelOutcome(records.Record, frozen=True, kw_only=False):
    """A model the run wrote, its fingerprint (None if it could not be taken) and its verdict.
    Positional, like a row: `ModelOutcome(path, verdict, fingerprint, problem)`."""

    path: str
    verdict: str
    fingerprint: str | None = None
    problem: str = ""


class RunRecord(records.Record, frozen=True):
    started_at: str
    script: str
    args: list[str]
    profile: str
    python: str
    device: str
    duration_seconds: float
    exit_code: int  # negative: the script was killed by that signal (subprocess's convention)
    models: list[ModelOutcome] = msgspec.field(default_factory=list)
    skipped: list[SkippedOutput] = msgspec.field(default_factory=list)
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
    write_bytes_atomic(path, earlier + records.encode_json_line(record))
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
    record = records.decode_json(line, RunRecord)
    if isinstance(record, records.Invalid):
        where = f"`{record.key}` " if record.key else ""
        raise TfbridgeError(
            f"{path}:{number} is not a run record ({where}{record.problem[:200]})",
            "delete that line (the file is tfbridge's training log; every other line is kept)",
        )
    return record
