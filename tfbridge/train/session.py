"""One training run: preflight, the script in its profile's interpreter, then every `.h5` it wrote
fingerprinted in that env, verified for the exam, and the whole run recorded."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING

from msgspec.structs import replace  # RunRecord is a msgspec record

from tfbridge.envs import default_profile_name, detect, load_profile
from tfbridge.errors import TfbridgeError
from tfbridge.files import kind_of
from tfbridge.phases import Phase, PhaseCallback, no_progress
from tfbridge.train.outputs import snapshot_models, written_models
from tfbridge.train.preflight import HELPERS_DIR, Preflight, run_preflight
from tfbridge.train.runs import ModelOutcome, RunRecord, append_run

if TYPE_CHECKING:
    from tfbridge.config import ProjectConfig
    from tfbridge.contract import Contract
    from tfbridge.sync.result import SyncReport
    from tfbridge.verify.result import ModelReport

STOP_GRACE_SECONDS = 3.0


@dataclass(frozen=True)
class TrainRequest:
    script: Path
    args: Sequence[str] = ()
    profile: str | None = None
    allow_cpu: bool = False
    output_dir: Path | None = None
    sync: bool = False


@dataclass
class TrainResult:
    """`record` is None when preflight stopped the run before the script started; `sync_problem`
    says why --sync sent nothing."""

    preflight: Preflight
    record: RunRecord | None = None
    reports: list[ModelReport] = field(default_factory=list)
    sync: SyncReport | None = None
    sync_problem: str = ""

    @property
    def ok(self) -> bool:
        if self.record is None or not self.record.ok or self.sync_problem:
            return False
        return self.sync is None or not self.sync.failed


def train(
    request: TrainRequest,
    *,
    script_stdout: IO[str] | None = None,
    progress: PhaseCallback | None = None,
    on_preflight: Callable[[Preflight], None] | None = None,
) -> TrainResult:
    """Run `request.script`; its output streams live (stdout to `script_stdout` if given).

    `on_preflight` sees the preflight as soon as it is done, before the script starts.
    """
    notify = progress or no_progress
    script = _existing_script(request.script)
    output_dir = _output_dir(request.output_dir)
    config = _project_config(required=request.sync)
    hardware = detect()
    profile = load_profile(request.profile or default_profile_name(hardware))
    notify(Phase("", "preflight", detail=f"preflight: checking the '{profile.name}' environment"))
    preflight = run_preflight(profile, hardware, allow_cpu=request.allow_cpu)
    if on_preflight is not None:
        on_preflight(preflight)
    if not preflight.ok or preflight.python is None:
        return TrainResult(preflight)
    python = preflight.python
    before = snapshot_models(output_dir)
    notify(Phase("", "run", detail=f"running {script.name} with {python} on {preflight.device}"))
    record = _run_recorded(request, script, profile.name, preflight, script_stdout)
    written = written_models(before, output_dir)
    for entry in written.skipped:
        skipped = f"not a model file, not read: {entry.path} ({entry.reason})"
        notify(Phase("", "gate", detail=skipped))
    record = replace(record, skipped=written.skipped)
    if record.interrupted:
        _record_unchecked(record, written.models, "not checked: the run was interrupted")
        raise KeyboardInterrupt
    try:
        outcomes, reports = _check_models(written.models, python, config, notify)
    except TfbridgeError as error:
        _record_unchecked(record, written.models, f"not checked: {error.one_line()}")
        raise
    record = replace(record, models=outcomes)
    append_run(record)
    result = TrainResult(preflight, record, reports)
    if config is not None and request.sync:
        try:
            result.sync = _sync_verified(config, reports, notify)
        except TfbridgeError as error:
            result.sync_problem = error.one_line()
    return result


def _run_recorded(
    request: TrainRequest,
    script: Path,
    profile: str,
    preflight: Preflight,
    stdout: IO[str] | None,
) -> RunRecord:
    """Run the script; the record of the run, before its models are checked."""
    assert preflight.python is not None
    started, clock = datetime.now(timezone.utc), time.monotonic()
    exit_code, interrupted = _run_script(preflight.python, script, request.args, stdout)
    return RunRecord(
        started_at=started.isoformat(timespec="seconds"),
        script=str(script),
        args=list(request.args),
        profile=profile,
        python=str(preflight.python),
        device=preflight.device,
        duration_seconds=round(time.monotonic() - clock, 3),
        exit_code=exit_code,
        interrupted=interrupted,
    )


def _existing_script(script: Path) -> Path:
    if not script.is_file():
        raise TfbridgeError(f"no training script at {script}", "pass the path of a .py file")
    return script.resolve()


def _output_dir(requested: Path | None) -> Path:
    """Where the script saves models; it may create the folder, but nothing else may be there."""
    directory = requested or Path.cwd()
    try:
        mode = directory.stat().st_mode
    except FileNotFoundError:
        return directory.absolute()
    except OSError as error:
        raise TfbridgeError(
            f"--output-dir {directory}: {error.strerror}", "pass the folder the script saves into"
        ) from None
    if not stat.S_ISDIR(mode):
        raise TfbridgeError(
            f"--output-dir {directory}: {kind_of(mode)}, not a folder",
            "pass the folder the script saves into",
        )
    return directory.resolve()


def _record_unchecked(record: RunRecord, models: list[Path], problem: str) -> None:
    """Record a run whose models could not be checked, so the history keeps it."""
    unchecked = [ModelOutcome(str(model), "skip", None, problem) for model in models]
    append_run(replace(record, models=unchecked))


def _run_script(
    python: Path, script: Path, args: Sequence[str], stdout: IO[str] | None
) -> tuple[int, bool]:
    """The script's exit code, and whether Ctrl-C (or SIGTERM) interrupted it."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(HELPERS_DIR), env.get("PYTHONPATH"))))
    env["PYTHONUNBUFFERED"] = "1"
    if stdout is not None:
        stdout.flush()
    try:
        process = subprocess.Popen([str(python), str(script), *args], env=env, stdout=stdout)
    except OSError as error:
        raise TfbridgeError(f"cannot start {python}: {error}", "run `tfbridge doctor`") from None
    try:
        return process.wait(), False
    except KeyboardInterrupt:
        return _stop(process), True


def _stop(process: subprocess.Popen[bytes]) -> int:
    """Stop an interrupted script: a terminal's Ctrl-C reached it too, so give it a moment to
    exit on its own, then terminate it, then kill it (at once on a second Ctrl-C)."""
    try:
        for ask in (None, process.terminate, process.kill):
            if ask is not None:
                ask()
            with suppress(subprocess.TimeoutExpired):
                return process.wait(timeout=STOP_GRACE_SECONDS)
    except KeyboardInterrupt:
        process.kill()
    return process.wait()


def _check_models(
    models: list[Path], python: Path, config: ProjectConfig | None, notify: PhaseCallback
) -> tuple[list[ModelOutcome], list[ModelReport]]:
    fingerprints = _fingerprint(models, python, notify)
    reports = _verify(models, config, notify)
    outcomes = [
        ModelOutcome(str(model), reports[model].verdict, *fingerprints[model]) for model in models
    ]
    return outcomes, [reports[model] for model in models]


def _verify(
    models: list[Path], config: ProjectConfig | None, notify: PhaseCallback
) -> dict[Path, ModelReport]:
    """Verify with one exam worker, each model against its slot's contract; the run's own models
    are trusted (their Lambda code is the user's script), and parity is checked against their
    fingerprints. Each model's verdict is a `gate` phase, n of N."""
    from tfbridge.verify import verify_models

    report = verify_models(
        [(model, _contract_for(model, config)) for model in models],
        trust=True,
        progress=lambda line: notify(Phase("", "gate", detail=line)),
    )
    for n, checked in enumerate(report.models, start=1):
        notify(Phase(checked.path.name, "gate", detail=checked.verdict, n=n, of=len(models)))
    return dict(zip(models, report.models, strict=True))


def _fingerprint(
    models: list[Path], python: Path, notify: PhaseCallback
) -> dict[Path, tuple[str | None, str]]:
    """Fingerprint path (or None) and problem per model; fresh ones from ExamCheckpoint are kept."""
    from tfbridge.fingerprinting import write_fingerprints

    done: dict[Path, tuple[str | None, str]] = {}
    for model in models:
        existing = _current_fingerprint(model)
        if existing is not None:
            done[model] = (str(existing), "")
    missing = [model for model in models if model not in done]
    if missing:
        count = len(missing)
        detail = f"fingerprinting {count} model(s) in the training environment"
        notify(Phase("", "fingerprint", detail=detail, of=count))
        for outcome in write_fingerprints(missing, python):
            path = str(outcome.path) if outcome.path is not None else None
            done[outcome.model] = (path, outcome.error or "")
    return done


def _current_fingerprint(model: Path) -> Path | None:
    """The fingerprint beside `model` if it is readable and current; a damaged one is written
    again like a missing one."""
    from tfbridge.runtime import read_fingerprint

    try:
        existing = read_fingerprint(model)
    except TfbridgeError:
        return None
    return None if existing is None or existing.stale else existing.path


def _project_config(*, required: bool) -> ProjectConfig | None:
    """The config (contracts, --sync); when `required`, a missing one is an error."""
    from tfbridge.config import find_config_file, load_config

    if not required and find_config_file() is None:
        return None
    config = load_config()
    if required:
        config.require_target()
    return config


def _contract_for(model: Path, config: ProjectConfig | None) -> Contract | None:
    names = _slot_names(config, [model])
    if config is None or not names:
        return None
    contract = config.slots[names[0]].contract
    return None if contract.is_empty else contract


def _slot_names(config: ProjectConfig | None, models: Sequence[Path]) -> list[str]:
    """Slots whose configured model is one of `models`."""
    if config is None:
        return []
    wanted = {model.resolve() for model in models}
    return [name for name, slot in config.slots.items() if slot.model.resolve() in wanted]


def _sync_verified(
    config: ProjectConfig, reports: list[ModelReport], notify: PhaseCallback
) -> SyncReport:
    from tfbridge.sync import sync

    verified = {report.path.resolve(): report for report in reports if not report.failed}
    names = _slot_names(config, list(verified))
    if not names:
        raise TfbridgeError(
            "--sync: no slot in the config names a model this run wrote and verify passed",
            f"set slots.<name>.model in {config.source} to the trained .h5",
        )
    notify(Phase("", "sync", detail=f"syncing {', '.join(names)}"))
    return sync(
        config,
        names,
        gate=lambda models: [verified[model.resolve()] for model, _ in models],
        progress=notify,
    )
