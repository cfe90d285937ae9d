"""Run the selected cases of a module: some as real CLI processes, in parallel threads started
when the module begins; the others in this process, each when its own test asks for it (the CLI
entry point run in-process, tests/in_process.py: a tenth of the cost of a process). Each test
then checks its own finished run.

Which cases get a real process is the module's choice (`in_a_process`); by default, the first
case of each test and of each parameter value (each command, each hostile input), so every
command and every input meets the real process boundary at least once.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

THREAD_NAME = "parallel-cli-runs"  # what runs in this process meanwhile ignores their processes
Job = Callable[..., object]  # called with the test's parameters
Chooser = Callable[[list[pytest.Function]], set[str]]  # -> node ids to run in real processes


def first_of_each_value(items: list[pytest.Function]) -> set[str]:
    """The node ids of the first item of each test function, and of the first item (in the
    module) having each value of each parameter."""
    seen: set[tuple[str, str]] = set()
    chosen = set()
    for item in items:
        values = {(name, repr(value)) for name, value in item.callspec.params.items()}
        values.add(("test", item.originalname))
        if not values <= seen:
            chosen.add(item.nodeid)
            seen |= values
    return chosen


def run_selected_in_parallel(
    request: pytest.FixtureRequest,
    jobs: dict[str, Job],
    in_a_process: Chooser = first_of_each_value,
) -> Iterator[dict[str, Future[object]]]:
    """For a module-scoped fixture: `jobs[test name](**parameters)` for every selected test of
    the module; those `in_a_process` chooses start at once on as many threads as cores (where
    `run_cli` runs a real process), the others run in the main thread when their test asks
    (where `run_cli` runs in this process). Yields the futures by test node id."""
    selected = [
        item
        for item in request.session.items
        if isinstance(item, pytest.Function)
        and item.module is request.module
        and item.originalname in jobs
    ]
    if any("exam_python" in item.fixturenames for item in selected):
        request.getfixturevalue("exam_python")  # built (or found cached) before any job needs it
    real = in_a_process(selected)
    with ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix=THREAD_NAME) as pool:
        runs: dict[str, Future[object]] = {
            item.nodeid: (
                pool.submit(jobs[item.originalname], **item.callspec.params)
                if item.nodeid in real
                else _OnRequest(jobs[item.originalname], item.callspec.params)
            )
            for item in selected
        }
        yield runs
        for run in runs.values():
            run.cancel()


def in_a_worker_thread() -> bool:
    """Whether this is one of the threads that run real processes."""
    return threading.current_thread().name.startswith(THREAD_NAME)


class _OnRequest(Future[object]):
    """A job run in the thread that first asks for its result."""

    def __init__(self, job: Job, parameters: dict[str, Any]) -> None:
        super().__init__()
        self._job = job
        self._parameters = parameters

    def result(self, timeout: float | None = None) -> object:
        if not self.done() and self.set_running_or_notify_cancel():
            try:
                self.set_result(self._job(**self._parameters))
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as error:  # a failed assertion, pytest.fail: the test's own
                self.set_exception(error)
        return super().result(timeout)


def result_of(runs: dict[str, Future[object]], request: pytest.FixtureRequest) -> object:
    """This test's run, waited for; its failure is raised here, in the test."""
    return runs[request.node.nodeid].result()
