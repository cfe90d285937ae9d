"""Run the selected cases of a module in parallel: each is a short CLI process, and one at a time
the matrix would take many minutes. Each test then checks its own finished run."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

Job = Callable[..., object]  # called with the test's parameters


def run_selected_in_parallel(
    request: pytest.FixtureRequest, jobs: dict[str, Job]
) -> Iterator[dict[str, Future[object]]]:
    """For a module-scoped fixture: start `jobs[test name](**parameters)` for every selected
    test of the module, on as many threads as cores; yield the futures by test node id."""
    selected = [
        item
        for item in request.session.items
        if isinstance(item, pytest.Function)
        and item.module is request.module
        and item.originalname in jobs
    ]
    if any("exam_python" in item.fixturenames for item in selected):
        request.getfixturevalue("exam_python")  # built (or found cached) before any job needs it
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        runs = {
            item.nodeid: pool.submit(jobs[item.originalname], **item.callspec.params)
            for item in selected
        }
        yield runs
        for run in runs.values():
            run.cancel()


def result_of(runs: dict[str, Future[object]], request: pytest.FixtureRequest) -> object:
    """This test's run, waited for; its failure is raised here, in the test."""
    return runs[request.node.nodeid].result()
