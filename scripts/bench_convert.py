"""Benchmark `tfbridge convert`: a ~100 KB Keras 3 model vs the same model with ~100 MB of weights.

    python scripts/bench_convert.py

Conversion rewrites JSON and copies weight datasets with h5py, so its time should follow the
bytes copied. The big file is the small fixture with one weight dataset enlarged (the config is
left as is: convert never builds the model, so this measures the copy, not TensorFlow).
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tfbridge.convert import convert  # noqa: E402

SMALL = REPO / "tests" / "fixtures" / "models" / "keras-3" / "cnn_classifier.h5"
BIG_BYTES = 100 * 1024 * 1024
RUNS = 3


def enlarged_copy(source: Path, target: Path) -> Path:
    shutil.copyfile(source, target)
    with h5py.File(target, "r+") as handle:
        weights = handle["model_weights"]
        layer = next(name for name in weights if len(weights[name].attrs["weight_names"]))
        name = weights[layer].attrs["weight_names"][0]
        name = name.decode() if isinstance(name, bytes) else name
        del weights[layer][name]
        count = BIG_BYTES // 4
        weights[layer][name] = np.random.default_rng(0).random(count, dtype=np.float32)
    return target


def timed(source: Path, output: Path) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        convert(source, output, check_parity=False)  # the copy alone, not the TF 2.9 check
        times.append(time.perf_counter() - start)
        output.unlink()
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench_convert_") as scratch:
        folder = Path(scratch)
        big = enlarged_copy(SMALL, folder / "big.h5")
        small_s = timed(SMALL, folder / "small.tf29.h5")
        big_s = timed(big, folder / "big.tf29.h5")
        small_mb = SMALL.stat().st_size / 1e6
        big_mb = big.stat().st_size / 1e6
    print(f"small model: {small_mb:8.3f} MB  convert {small_s * 1000:8.1f} ms (median of {RUNS})")
    print(f"big model:   {big_mb:8.1f} MB  convert {big_s * 1000:8.1f} ms (median of {RUNS})")
    print(f"ratio big/small: {big_s / small_s:.1f}x time for {big_mb / small_mb:.0f}x bytes")
    print(f"copy throughput on the big model: {big_mb / big_s:.0f} MB/s")


if __name__ == "__main__":
    main()
