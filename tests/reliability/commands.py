"""The reading commands, as the suite runs them on one hostile input: arguments and outputs."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.reliability.contract import Outputs
from tests.reliability.hostile import FINGERPRINT_SUFFIX, GOOD_MODEL, Case

CONVERTED = "converted.h5"
EXAM_MACHINE = "exam-machine"
TARGET_LOCK = ".tfbridge-lock"


@dataclass(frozen=True)
class Command:
    name: str
    argv: Callable[[Path, Path], list[str]]  # (input, root) -> arguments after `tfbridge`
    outputs: Callable[[Path, Path], Outputs]
    json_output: bool = False
    # Problems particular to this command: (finished process, case, input) -> lines.
    own_problems: Callable[[subprocess.CompletedProcess[str], Case, Path], list[str]] | None = None


def _each_model_its_verdict(
    done: subprocess.CompletedProcess[str], case: Case, model: Path
) -> list[str]:
    """In a batch, the good model beside the hostile one passes, and a non-model fails."""
    try:
        verdicts = {str(m["path"]): m["verdict"] for m in json.loads(done.stdout)["models"]}
    except (ValueError, KeyError, TypeError):
        return ["no per-model report, so the good model got no verdict"]
    problems = []
    if verdicts.get(str(GOOD_MODEL)) != "pass":
        problems.append(f"the good model beside it got {verdicts.get(str(GOOD_MODEL))!r}")
    if not case.is_model and verdicts.get(str(model)) != "fail":
        problems.append(f"the hostile input got {verdicts.get(str(model))!r}, not 'fail'")
    return problems


def _no_outputs(model: Path, root: Path) -> Outputs:
    return Outputs()


def _with_fingerprint(*models: Path) -> tuple[Path, ...]:
    return tuple(p for m in models for p in (m, m.with_name(m.name + FINGERPRINT_SUFFIX)))


def _converted_beside(model: Path, root: Path) -> Outputs:
    return Outputs(files=_with_fingerprint(model.with_name(model.stem + ".tf29.h5")))


def _converted_in_out(model: Path, root: Path) -> Outputs:
    return Outputs(files=_with_fingerprint(root / "out" / CONVERTED))


def _fingerprint_beside(model: Path, root: Path) -> Outputs:
    return Outputs(files=(model.with_name(model.name + FINGERPRINT_SUFFIX),))


def sync_state(root: Path) -> tuple[Path, ...]:
    """sync's own records: the project's ledger, and the target's lock (taken for each run)."""
    return (root / ".tfbridge", root / EXAM_MACHINE / TARGET_LOCK)


def _sync_outputs(model: Path, root: Path) -> Outputs:
    return Outputs(state=sync_state(root), target=root / EXAM_MACHINE)


STATIC_COMMANDS = (
    Command("verify", lambda model, root: ["verify", "--no-runtime", str(model)], _no_outputs),
    Command(
        "verify --json",
        lambda model, root: ["verify", "--no-runtime", "--json", str(model)],
        _no_outputs,
        json_output=True,
    ),
    Command(
        "verify --json with a good model",
        lambda model, root: ["verify", "--no-runtime", "--json", str(GOOD_MODEL), str(model)],
        _no_outputs,
        json_output=True,
        own_problems=_each_model_its_verdict,
    ),
    Command("convert", lambda model, root: ["convert", str(model)], _converted_beside),
    Command(
        "convert --json",
        lambda model, root: ["convert", str(model), "-o", str(root / "out" / CONVERTED), "--json"],
        _converted_in_out,
        json_output=True,
    ),
)
FINGERPRINT = Command("fingerprint", lambda m, r: ["fingerprint", str(m)], _fingerprint_beside)
# On a model TF 2.9 never finishes loading: the runtime must be given up on, not waited for.
RUNTIME_ON_A_HANG = (
    Command(
        "verify --no-daemon --json",
        lambda model, root: ["verify", "--no-daemon", "--json", str(model)],
        _no_outputs,
        json_output=True,
    ),
    Command(
        "fingerprint --timeout 30 --json",
        lambda model, root: ["fingerprint", "--timeout", "30", "--json", str(model)],
        _fingerprint_beside,
        json_output=True,
    ),
)
SYNC_COMMANDS = (
    Command("sync", lambda model, root: ["sync"], _sync_outputs),
    Command(
        "sync --force --json",
        lambda model, root: ["sync", "--force", "--json"],
        _sync_outputs,
        json_output=True,
    ),
)


def allowed_exits(case: Case) -> set[int]:
    """Never 0 for a non-model; never 3 (the environment is fine); a real model may pass."""
    return {0, 1, 2} if case.is_model else {1, 2}


def write_sync_config(root: Path, slots: Sequence[tuple[str, Path]]) -> Path:
    """A project in `root` sending each (slot, model) to a local exam-machine directory."""
    target = root / EXAM_MACHINE
    target.mkdir(exist_ok=True)
    lines = ["[target]", f"dest = {json.dumps(str(target))}", ""]
    for slot, model in slots:
        lines += [f"[slots.{slot}]", f"model = {json.dumps(str(model))}", f'remote_dir = "{slot}"']
    config = root / "tfbridge.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def can_name_in_toml(path: Path) -> bool:
    """TOML is UTF-8: a file name with undecodable bytes cannot be written in tfbridge.toml."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
