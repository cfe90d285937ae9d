"""Benchmark `tfbridge verify`'s static check: does its time stay flat as the model grows, and how
does it compare with loading the model in the exam runtime?

    python scripts/bench_verify.py [--exam-python PATH] [--repeat N]

Builds a ~100 KB and a ~100 MB model with real Keras 2.9 in the exam runtime (default: the `exam`
profile's environment, or $TFBRIDGE_TEST_EXAM_PYTHON), then prints:
  - static check time of each and their ratio (should stay near 1: weight data is never read),
  - static check vs `load_model(path)` (compile=True) of the big model in a warm worker, as a ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tfbridge.verify import static_check

if TYPE_CHECKING:
    from tfbridge.runtime import RuntimeWorker

BUILD = """
import sys
import tensorflow as tf
width = int(sys.argv[2])
model = tf.keras.Sequential([tf.keras.layers.InputLayer(input_shape=(width,)),
                             tf.keras.layers.Dense(width, activation="relu"),
                             tf.keras.layers.Dense(1)])
model.compile(optimizer=tf.keras.optimizers.SGD(), loss="mse")
model.save(sys.argv[1])
"""
SMALL_WIDTH = 150  # ~23k parameters, ~100 KB
BIG_WIDTH = 5000  # ~25M parameters, ~100 MB


def exam_python(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    if os.environ.get("TFBRIDGE_TEST_EXAM_PYTHON"):
        return Path(os.environ["TFBRIDGE_TEST_EXAM_PYTHON"])
    from tfbridge.envs import ready_python

    return ready_python("exam")


def build(python: Path, path: Path, width: int) -> Path:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run(
        [str(python), "-c", BUILD, str(path), str(width)], check=True, env=env, capture_output=True
    )
    return path


def median_seconds(action: object, repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()  # type: ignore[operator]
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def timed_fresh_load(worker: RuntimeWorker, other: Path, model: Path) -> float:
    """The worker keeps its last model; load another one first so `model` is really loaded."""
    worker.load(other)
    start = time.perf_counter()
    worker.load(model, compile=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exam-python")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    python = exam_python(args.exam_python)
    from tfbridge.runtime import RuntimeWorker

    with tempfile.TemporaryDirectory(prefix="tfbridge-bench-verify-") as scratch:
        small = build(python, Path(scratch) / "small.h5", SMALL_WIDTH)
        big = build(python, Path(scratch) / "big.h5", BIG_WIDTH)
        static_check(small)  # warm imports and the knowledge file once
        small_s = median_seconds(lambda: static_check(small), args.repeat)
        big_s = median_seconds(lambda: static_check(big), args.repeat)
        sizes = small.stat().st_size, big.stat().st_size
        with RuntimeWorker(python) as worker:
            worker.load(small)  # TensorFlow imported, first-load costs paid
            outcome = worker.load(big, compile=True)
            if not outcome.ok:
                raise SystemExit(f"the exam runtime did not load the big model: {outcome.error}")
            load_s = statistics.median(timed_fresh_load(worker, small, big) for _ in range(3))
    print(f"model sizes: {sizes[0] / 1e3:.0f} KB and {sizes[1] / 1e6:.0f} MB")
    print(f"static verify, ~100 KB model: {small_s * 1000:.1f} ms (median of {args.repeat})")
    print(f"static verify, ~100 MB model: {big_s * 1000:.1f} ms (median of {args.repeat})")
    print(f"ratio big/small: {big_s / small_s:.2f}")
    print(
        f"exam runtime load_model (compile=True) of the ~100 MB model, warm worker: "
        f"{load_s * 1000:.0f} ms (median of 3)"
    )
    print(f"ratio runtime load / static verify (same model): {load_s / big_s:.1f}")


if __name__ == "__main__":
    main()
