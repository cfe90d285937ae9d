"""Every reading command on every hostile input keeps the contract (see contract.py).

verify and convert run static-only and per input. fingerprint and sync need the exam runtime:
per input for the file-level cases (refused before TensorFlow starts), and in one batch call for
the cases that are readable HDF5 (each would otherwise cost a TensorFlow start), checking each
model's own outcome in the batch's JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.commands import (
    EXAM_MACHINE,
    FINGERPRINT,
    STATIC_COMMANDS,
    SYNC_COMMANDS,
    Command,
    allowed_exits,
    can_name_in_toml,
    sync_state,
    write_sync_config,
)
from tests.reliability.contract import (
    Outputs,
    contract_problems,
    first_line,
    markers,
    run_cli,
    snapshot,
    tree_changes,
)
from tests.reliability.hostile import CASES, GOOD_MODEL, Case

FILE_CASES = [case for case in CASES if case.kind == "file"]
HDF5_CASES = [case for case in CASES if case.kind != "file"]


def _ids(case: Case) -> str:
    return case.name


def _build(case: Case, root: Path) -> Path:
    inputs = root / "in"
    inputs.mkdir()
    return case.build(inputs)


def _run_and_check(
    command: Command, case: Case, model: Path, root: Path
) -> subprocess.CompletedProcess[str]:
    before = snapshot(root)
    done = run_cli(command.argv(model, root), cwd=root, unprivileged=case.needs_unprivileged)
    after = snapshot(root)
    problems = contract_problems(done, allowed_exits(case), command.json_output)
    outputs = command.outputs(model, root)
    problems += tree_changes(before, after, root, outputs, succeeded=done.returncode == 0)
    problems += [f"model code ran: the marker {marker} appeared" for marker in markers(root)]
    if command.own_problems is not None:
        problems += command.own_problems(done)
    assert not problems, _report(command.name, case.name, done, problems)
    return done


def _report(
    command: str, case: str, done: subprocess.CompletedProcess[str], problems: list[str]
) -> str:
    return (
        f"`tfbridge {command}` on {case}: exit {done.returncode}, stderr {first_line(done)!r}\n  "
        + "\n  ".join(problems)
    )


@pytest.fixture(scope="module")
def static_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[tuple[str, str], Future[object]]]:
    """The selected static runs, started together on all cores: each is a short process, and
    one at a time the matrix would take minutes. Each test then checks its own run."""
    static = test_static_command_keeps_the_contract.__name__
    selected = [i.callspec.params for i in request.session.items if i.originalname == static]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        runs = {
            (params["command"].name, params["case"].name): pool.submit(
                _build_run_and_check, params["command"], params["case"], tmp_path_factory
            )
            for params in selected
        }
        yield runs
        for run in runs.values():
            run.cancel()


def _build_run_and_check(
    command: Command, case: Case, tmp_path_factory: pytest.TempPathFactory
) -> subprocess.CompletedProcess[str]:
    root = tmp_path_factory.mktemp(f"{command.name.split()[0]}-{case.name}")
    return _run_and_check(command, case, _build(case, root), root)


@pytest.mark.parametrize("case", CASES, ids=_ids)
@pytest.mark.parametrize("command", STATIC_COMMANDS, ids=lambda command: command.name)
def test_static_command_keeps_the_contract(
    command: Command, case: Case, static_runs: dict[tuple[str, str], Future[object]]
) -> None:
    static_runs[command.name, case.name].result()  # re-raises the run's failure here


@pytest.mark.runtime
@pytest.mark.parametrize("case", FILE_CASES, ids=_ids)
def test_fingerprint_refuses_what_is_not_a_model_file(
    case: Case, tmp_path: Path, exam_python: Path
) -> None:
    done = _run_and_check(FINGERPRINT, case, _build(case, tmp_path), tmp_path)
    assert done.returncode != 0


@pytest.mark.runtime
@pytest.mark.parametrize("case", FILE_CASES, ids=_ids)
@pytest.mark.parametrize("command", SYNC_COMMANDS, ids=lambda command: command.name)
def test_sync_never_sends_what_is_not_a_model_file(
    command: Command, case: Case, tmp_path: Path, exam_python: Path
) -> None:
    model = _build(case, tmp_path)
    write_sync_config(tmp_path, [("q1", model)])
    _run_and_check(command, case, model, tmp_path)


def _batch_inputs(root: Path) -> dict[str, Path]:
    models = {}
    for case in HDF5_CASES:
        directory = root / "in" / case.name
        directory.mkdir(parents=True)
        models[case.name] = case.build(directory)
    return models


def _batch_problems(
    done: subprocess.CompletedProcess[str], before: dict[str, Any], root: Path
) -> list[str]:
    problems = contract_problems(done, {0, 1, 2}, json_output=True)
    problems += tree_changes(before, snapshot(root), root, _batch_outputs(root), succeeded=True)
    return problems + [f"model code ran: {marker}" for marker in markers(root)]


def _batch_outputs(root: Path) -> Outputs:
    fingerprints = tuple(root.glob("in/*/*.fingerprint.json"))
    return Outputs(files=fingerprints, state=sync_state(root), target=root / EXAM_MACHINE)


@pytest.mark.runtime
def test_fingerprint_batch_fails_each_non_model_and_runs_no_model_code(
    tmp_path: Path, exam_python: Path
) -> None:
    models = _batch_inputs(tmp_path)
    before = snapshot(tmp_path)
    done = run_cli(["fingerprint", "--json", *models.values()], cwd=tmp_path)
    problems = _batch_problems(done, before, tmp_path)
    if not problems:
        outcomes = {Path(o["model"]): o for o in json.loads(done.stdout)["models"]}
        for case in HDF5_CASES:
            outcome = outcomes.get(models[case.name])
            if outcome is None:
                problems.append(f"{case.name}: no outcome in the batch")
            elif not case.is_model and outcome["ok"]:
                problems.append(f"{case.name}: fingerprinted as if it were a model")
    assert not problems, _report("fingerprint --json (batch)", "HDF5 cases", done, problems)


@pytest.mark.runtime
@pytest.mark.parametrize("force", [False, True], ids=["sync", "sync --force"])
def test_sync_batch_sends_no_non_model_and_runs_no_model_code(
    force: bool, tmp_path: Path, exam_python: Path
) -> None:
    models = _batch_inputs(tmp_path)
    slots = [(name, model) for name, model in models.items() if can_name_in_toml(model)]
    write_sync_config(tmp_path, slots)
    before = snapshot(tmp_path)
    done = run_cli(["sync", "--json", *(["--force"] if force else [])], cwd=tmp_path)
    problems = _batch_problems(done, before, tmp_path)
    if done.returncode == 0:
        problems.append("exit 0 although non-models were among the slots")
    if not problems:
        actions = {s["slot"]: s["action"] for s in json.loads(done.stdout)["slots"]}
        # --force overrides a failed verification of a model, never the absence of one.
        never_sent = ("not_model",) if force else ("not_model", "broken_model")
        for case in HDF5_CASES:
            if case.kind in never_sent and actions.get(case.name) == "sent":
                problems.append(f"{case.name}: sent to the exam machine")
    assert not problems, _report(f"sync --json{' --force' * force} (batch)", "HDF5", done, problems)


@pytest.mark.runtime
def test_verify_in_the_runtime_gives_every_input_of_a_batch_its_own_verdict(
    tmp_path: Path, exam_python: Path
) -> None:
    """Every hostile input and a good model in one `verify` with the exam runtime: one worker
    for all, no model code run without --trust, the good model still passes."""
    inputs = {}
    for case in CASES:
        directory = tmp_path / "in" / case.name
        directory.mkdir(parents=True)
        inputs[case.name] = case.build(directory)
    before = snapshot(tmp_path)
    done = run_cli(
        ["verify", "--json", GOOD_MODEL, *inputs.values()], cwd=tmp_path, unprivileged=True
    )
    problems = contract_problems(done, {1}, json_output=True)
    problems += tree_changes(before, snapshot(tmp_path), tmp_path, Outputs(), succeeded=False)
    problems += [f"model code ran: {marker}" for marker in markers(tmp_path)]
    if not problems:
        verdicts = {m["path"]: m["verdict"] for m in json.loads(done.stdout)["models"]}
        if verdicts.get(str(GOOD_MODEL)) != "pass":
            problems.append(f"the good model got {verdicts.get(str(GOOD_MODEL))!r}")
        for case in CASES:
            verdict = verdicts.get(str(inputs[case.name]))
            if verdict is None:
                problems.append(f"{case.name}: no verdict in the batch")
            elif not case.is_model and verdict != "fail":
                problems.append(f"{case.name}: verdict {verdict!r} for a non-model")
    assert not problems, _report("verify --json (runtime batch)", "all cases", done, problems)
