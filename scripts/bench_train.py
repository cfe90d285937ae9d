"""What `tfbridge train` adds around a training script, measured with the exam environment.

    python scripts/bench_train.py [--repeat 3]

Needs the exam env (`tfbridge setup exam`; TFBRIDGE_HOME is honoured). Prints one line per figure:
the preflight's parts, snapshotting an output folder, and the wall time of the regression example
run directly versus through `tfbridge train` (the difference is preflight + fingerprint + verify).
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
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "train_regression.py"
FIXTURE_MODELS = REPO / "tests" / "fixtures" / "models" / "keras-2.9"


def seconds(action: Callable[[], object], repeat: int) -> float:
    """Median wall time of `action` over `repeat` runs."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(command: list[str], cwd: Path, env: dict[str, str]) -> None:
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    repeat = parser.parse_args().repeat

    from tfbridge.envs import ready_python
    from tfbridge.inenv import list_devices
    from tfbridge.train.outputs import snapshot_models
    from tfbridge.train.preflight import HELPERS_DIR, read_env_packages

    python = ready_python("exam")
    print(f"exam env: {python}; median of {repeat} runs each")
    packages = seconds(lambda: read_env_packages(python), repeat)
    devices = seconds(lambda: list_devices(python), repeat)
    print(f"preflight: read package versions  {packages:7.3f} s")
    print(f"preflight: TensorFlow device list {devices:7.3f} s")

    with tempfile.TemporaryDirectory(prefix="bench-train-") as scratch:
        work = Path(scratch)
        models = work / "models"
        shutil.copytree(FIXTURE_MODELS, models, ignore=shutil.ignore_patterns("saved_model"))
        count = len(list(models.glob("*.h5")))
        size = sum(p.stat().st_size for p in models.glob("*.h5")) / 1e6
        print(
            f"snapshot of {count} .h5 ({size:.1f} MB)        "
            f"{seconds(lambda: snapshot_models(models), repeat):7.3f} s"
        )
        (work / "pyproject.toml").write_text('[project]\nname = "bench"\n')
        env = {**os.environ, "PYTHONPATH": str(HELPERS_DIR), "TF_CPP_MIN_LOG_LEVEL": "2"}
        direct = [str(python), str(EXAMPLE), "--epochs", "3", "--output", "direct.h5"]
        through = [sys.executable, "-m", "tfbridge", "train", str(EXAMPLE), "--profile", "exam"]
        through += ["--json", "--", "--epochs", "3", "--output", "through.h5"]
        plain = seconds(lambda: run(direct, work, env), repeat)
        wrapped = seconds(lambda: run(through, work, dict(os.environ)), repeat)
        print(f"regression example, run directly  {plain:7.3f} s")
        print(f"regression example, tfbridge train {wrapped:6.3f} s  (+{wrapped - plain:.3f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
