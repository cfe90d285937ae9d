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
    # Problems particular to this command, from its output: (finished process) -> lines.
    own_problems: Callable[[subprocess.CompletedProcess[str]], list[str]] | None = None


def _good_model_still_passes(done: subprocess.CompletedProcess[str]) -> list[str]:
    """In a batch, the good model beside the hostile one gets its own verdict: pass."""
    try:
        models = json.loads(done.stdout)["models"]
        verdicts = {model["path"]: model["verdict"] for model in models}
    except (ValueError, KeyError, TypeError):
        return ["no per-model report, so the good model got no verdict"]
    verdict = verdicts.get(str(GOOD_MODEL))
    return [] if verdict == "pass" else [f"the good model beside it got {verdict!r}, not 'pass'"]


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
        "verify --json good+hostile",
        lambda model, root: ["verify", "--no-runtime", "--json", str(GOOD_MODEL), str(model)],
        _no_outputs,
        json_output=True,
        own_problems=_good_model_still_passes,
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
