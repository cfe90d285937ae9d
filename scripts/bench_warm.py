"""Benchmark the warm exam worker and the verdict cache: whole `tfbridge verify` processes.

    python scripts/bench_warm.py [--model PATH] [--repeat N]

In a private TFBRIDGE_HOME whose exam environment links to the ready one (nothing of yours is
touched), prints the wall time of `tfbridge verify MODEL` as a user runs it:
  - cold: no warm worker yet (TensorFlow starts), runtime check forced (--no-cache),
  - warm: the worker is up, runtime check forced (--no-cache),
  - cached: the worker is up and the runtime verdict is known,
  - one-shot: --no-daemon --no-cache (what every verify cost before),
and the ratios warm/cold and cached/cold. Figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "mnist_dense.h5"


def private_home() -> Path:
    from tfbridge.envs import ready_python

    exam_env = ready_python("exam").parent.parent
    home = Path(tempfile.mkdtemp(prefix="tfbb-", dir="/tmp"))
    (home / "envs").mkdir()
    (home / "envs" / "exam").symlink_to(exam_env)
    return home


def timed_verify(home: Path, model: Path, *options: str) -> float:
    command = [sys.executable, "-m", "tfbridge", "verify", "-q", *options, str(model)]
    began = time.perf_counter()
    done = subprocess.run(
        command, env={**os.environ, "TFBRIDGE_HOME": str(home)}, capture_output=True, text=True
    )
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"verify failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def stop_worker(home: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "tfbridge", "worker", "stop"],
        env={**os.environ, "TFBRIDGE_HOME": str(home)},
        capture_output=True,
        check=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=EXAMPLE)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    home = private_home()
    try:
        cold, warm, cached, one_shot = [], [], [], []
        for _ in range(args.repeat):
            stop_worker(home)
            cold.append(timed_verify(home, args.model, "--no-cache"))
            warm.append(timed_verify(home, args.model, "--no-cache"))
            timed_verify(home, args.model)  # stores the verdict
            cached.append(timed_verify(home, args.model))
            one_shot.append(timed_verify(home, args.model, "--no-daemon", "--no-cache"))
        figures = {
            "cold": statistics.median(cold),
            "warm": statistics.median(warm),
            "cached": statistics.median(cached),
            "one-shot": statistics.median(one_shot),
        }
        bytecode = "off" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "on"
        title = f"tfbridge verify {args.model.name}, median of {args.repeat}"
        print(f"{title} (bytecode cache {bytecode}):")
        for name, seconds in figures.items():
            print(f"  {name:9} {seconds:6.2f} s")
        print(f"  warm/cold   {figures['warm'] / figures['cold']:.2f}")
        print(f"  cached/cold {figures['cached'] / figures['cold']:.2f}")
    finally:
        stop_worker(home)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
