"""Benchmark the runtime worker: one TensorFlow process serving many models versus a fresh
process per model (what checking each model in its own `python -c "load_model(...)"` costs).

Run: python scripts/bench_runtime.py   (or `nox -s bench`). Prints figures; asserts nothing.
Uses the exam runtime (TFBRIDGE_TEST_EXAM_PYTHON, else the ready `exam` profile) and the
committed Keras 2.9 fixtures that load there.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from tfbridge.runtime import RuntimeWorker

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "models" / "keras-2.9"


def exam_python() -> Path:
    override = os.environ.get("TFBRIDGE_TEST_EXAM_PYTHON")
    if override:
        return Path(override)
    from tfbridge.envs import ready_python

    return ready_python("exam")


def warm_worker(python: Path, models: list[Path]) -> tuple[float, float]:
    """(seconds to start the worker, seconds to load + predict every model in it)."""
    started = time.perf_counter()
    with RuntimeWorker(python) as worker:
        ready = time.perf_counter()
        for model in models:
            worker.predict_probes(model)
        done = time.perf_counter()
    return ready - started, done - ready


def process_per_model(python: Path, models: list[Path]) -> float:
    started = time.perf_counter()
    for model in models:
        with RuntimeWorker(python) as worker:
            worker.predict_probes(model)
    return time.perf_counter() - started


def main() -> None:
    python = exam_python()
    models = sorted(FIXTURES.glob("*.h5"))
    startup, serving = warm_worker(python, models)
    per_process = process_per_model(python, models)
    count = len(models)
    print(f"exam runtime: {python}")
    print(f"models: {count} Keras 2.9 fixtures (load compile=True + predict on probes)")
    print(f"worker start (TensorFlow import): {startup:.2f} s")
    print(f"one worker, all models: {serving:.2f} s ({serving / count * 1000:.0f} ms per model)")
    print(f"fresh process per model: {per_process:.2f} s ({per_process / count:.2f} s per model)")
    print(f"speed-up of one worker (incl. its start): {per_process / (startup + serving):.1f}x")


if __name__ == "__main__":
    main()
