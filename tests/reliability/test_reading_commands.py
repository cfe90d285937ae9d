"""Every reading command on every hostile input keeps the contract (see contract.py).

Per input: verify and convert (static), and fingerprint and sync on the inputs that are not plain
files (FIFOs, link loops, folders...: refused as paths). The plain files go to fingerprint and sync
in batch calls (each single call would start TensorFlow), and every input to one `verify` in the
exam runtime; each model's own outcome in a batch is checked in its JSON.

The static commands run in a real process, in parallel, on the first input of each class (kind,
and plain file or not) and on every input that must be read without root's privileges; on the
others they run in this process (tests/in_process.py), which checks the same contract in a tenth
of the time.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest

from tests.reliability.commands import (
    EXAM_MACHINE,
    FINGERPRINT,
    RUNTIME_ON_A_HANG,
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
    Tree,
    contract_problems,
    first_line,
    markers,
    run_cli,
    snapshot,
    tree_changes,
)
from tests.reliability.hostile import CASES, GOOD_MODEL, Case
from tests.reliability.parallel import result_of, run_selected_in_parallel

PATH_CASES = [case for case in CASES if not case.plain]
# A model TF 2.9 never finishes loading would hold a whole batch up: those go one by one.
HANG_CASES = [case for case in CASES if case.hangs_tf]
PLAIN_CASES = [case for case in CASES if case.plain and not case.hangs_tf]
# A slot naming a file that is not `*.h5` makes the whole config invalid: those go one by one.
SYNC_ALONE_CASES = [case for case in CASES if not case.plain or not case.h5_named]
SYNC_BATCH_CASES = [case for case in PLAIN_CASES if case.h5_named]
# The first input of each class, for the static commands' real processes.
FIRST_OF_A_CLASS = {
    next(case for case in CASES if (case.kind, case.plain) == kind_and_plain)
    for kind_and_plain in {(case.kind, case.plain) for case in CASES}
}
RUNTIME_ALONE = [
    *((FINGERPRINT, case) for case in PATH_CASES),
    *((command, case) for command in SYNC_COMMANDS for case in SYNC_ALONE_CASES),
    *((command, case) for command in RUNTIME_ON_A_HANG for case in HANG_CASES),
]


def _ids(case: Case) -> str:
    return case.name


def _build(case: Case, root: Path) -> Path:
    inputs = root / "in"
    inputs.mkdir()
    return case.build(inputs)


def _in_a_process(items: list[pytest.Function]) -> set[str]:
    """Static commands run in this process, except on the first input of each class and where
    root's privileges must be dropped (setpriv needs a process)."""
    return {
        item.nodeid
        for item in items
        if item.callspec.params["command"] not in STATIC_COMMANDS
        or item.callspec.params["case"] in FIRST_OF_A_CLASS
        or item.callspec.params["case"].needs_unprivileged
    }


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
        problems += command.own_problems(done, case, model)
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
def runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Future[object]]]:
    def in_fresh_root(command: Command, case: Case) -> subprocess.CompletedProcess[str]:
        root = tmp_path_factory.mktemp(f"{command.name.split()[0]}-{case.name}")
        model = _build(case, root)
        if command in SYNC_COMMANDS:
            write_sync_config(root, [("q1", model)])
        done = _run_and_check(command, case, model, root)
        shutil.rmtree(root)  # kept only when the case fails, to inspect: hundreds of cases
        return done

    yield from run_selected_in_parallel(
        request,
        {
            test_static_command_keeps_the_contract.__name__: in_fresh_root,
            test_runtime_command_on_one_input_keeps_the_contract.__name__: in_fresh_root,
        },
        in_a_process=_in_a_process,
    )


@pytest.mark.parametrize("case", CASES, ids=_ids)
@pytest.mark.parametrize("command", STATIC_COMMANDS, ids=lambda command: command.name)
def test_static_command_keeps_the_contract(
    command: Command, case: Case, runs: dict[str, Future[object]], request: pytest.FixtureRequest
) -> None:
    result_of(runs, request)


@pytest.mark.runtime
@pytest.mark.parametrize(
    ("command", "case"),
    RUNTIME_ALONE,
    ids=[f"{command.name}-{case.name}" for command, case in RUNTIME_ALONE],
)
def test_runtime_command_on_one_input_keeps_the_contract(
    command: Command,
    case: Case,
    exam_python: Path,
    runs: dict[str, Future[object]],
    request: pytest.FixtureRequest,
) -> None:
    result_of(runs, request)


def _batch_inputs(root: Path, cases: list[Case]) -> dict[str, Path]:
    models = {}
    for case in cases:
        directory = root / "in" / case.name
        directory.mkdir(parents=True)
        models[case.name] = case.build(directory)
    return models


def _batch_problems(done: subprocess.CompletedProcess[str], before: Tree, root: Path) -> list[str]:
    problems = contract_problems(done, {1}, json_output=True)
    problems += tree_changes(before, snapshot(root), root, _batch_outputs(root), succeeded=True)
    return problems + [f"model code ran: {marker}" for marker in markers(root)]


def _batch_outputs(root: Path) -> Outputs:
    fingerprints = tuple(root.glob("in/*/*.fingerprint.json"))
    return Outputs(files=fingerprints, state=sync_state(root), target=root / EXAM_MACHINE)


@pytest.mark.runtime
def test_fingerprint_batch_fails_each_non_model_and_runs_no_model_code(
    tmp_path: Path, exam_python: Path
) -> None:
    models = _batch_inputs(tmp_path, PLAIN_CASES)
    before = snapshot(tmp_path)
    done = run_cli(["fingerprint", "--json", *models.values()], cwd=tmp_path)
    problems = _batch_problems(done, before, tmp_path)
    if not problems:
        outcomes = {str(o["model"]): o for o in json.loads(done.stdout)["models"]}
        for case in PLAIN_CASES:
            outcome = outcomes.get(str(models[case.name]))
            if outcome is None:
                problems.append(f"{case.name}: no outcome in the batch")
            elif not case.is_model and outcome["ok"]:
                problems.append(f"{case.name}: fingerprinted as if it were a model")
    assert not problems, _report("fingerprint --json (batch)", "plain files", done, problems)
    shutil.rmtree(tmp_path)  # passed: free the shared disk


@pytest.mark.runtime
@pytest.mark.parametrize("force", [False, True], ids=["sync", "sync --force"])
def test_sync_batch_sends_no_non_model_and_runs_no_model_code(
    force: bool, tmp_path: Path, exam_python: Path
) -> None:
    models = _batch_inputs(tmp_path, SYNC_BATCH_CASES)
    slots = [(name, model) for name, model in models.items() if can_name_in_toml(model)]
    write_sync_config(tmp_path, slots)
    before = snapshot(tmp_path)
    done = run_cli(["sync", "--json", *(["--force"] if force else [])], cwd=tmp_path)
    problems = _batch_problems(done, before, tmp_path)
    if not problems:
        actions = {s["slot"]: s["action"] for s in json.loads(done.stdout)["slots"]}
        # --force overrides a failed verification of a model, never the absence of one.
        never_sent = ("file", "not_model") if force else ("file", "not_model", "broken_model")
        for case in SYNC_BATCH_CASES:
            if case.kind in never_sent and actions.get(case.name) == "sent":
                problems.append(f"{case.name}: sent to the exam machine")
    command = "sync --json --force" if force else "sync --json"
    assert not problems, _report(f"{command} (batch)", "plain files", done, problems)
    shutil.rmtree(tmp_path)  # passed: free the shared disk


@pytest.mark.runtime
def test_verify_in_the_runtime_gives_every_input_of_a_batch_its_own_verdict(
    tmp_path: Path, exam_python: Path
) -> None:
    """Every hostile input and a good model in one `verify` with the exam runtime: one worker
    for all, no model code run without --trust, the good model still passes."""
    inputs = _batch_inputs(tmp_path, [case for case in CASES if not case.hangs_tf])
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
            if case.hangs_tf:
                continue
            verdict = verdicts.get(str(inputs[case.name]))
            if verdict is None:
                problems.append(f"{case.name}: no verdict in the batch")
            elif not case.is_model and verdict != "fail":
                problems.append(f"{case.name}: verdict {verdict!r} for a non-model")
    assert not problems, _report("verify --json (runtime batch)", "all cases", done, problems)
    shutil.rmtree(tmp_path)  # passed: free the shared disk
