"""Benchmark `tfbridge setup exam` from a warm uv cache against `pip install` of the same pins
into a fresh venv (pip's cache warmed by a first run), and the no-op re-setup.

Run: python scripts/bench_setup.py   (or `nox -s bench`). Prints figures; asserts nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tfbridge.envs.hardware import detect
from tfbridge.envs.interpreters import find_interpreter
from tfbridge.envs.lock import check_lock, read_lock
from tfbridge.envs.profiles import load_profile


def timed(args: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(
        args,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    return time.perf_counter() - started


def pip_install_seconds(python: Path, requirements: Path, scratch: Path, name: str) -> float:
    venv = scratch / name
    subprocess.run([str(python), "-m", "venv", str(venv)], check=True)
    return timed(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-r", str(requirements)]
    )


def main() -> None:
    exam = load_profile("exam")
    lock = read_lock(check_lock(exam, detect().conda_platform).path)
    python = find_interpreter(exam.python).path
    tfbridge = [sys.executable, "-m", "tfbridge", "setup", "exam", "--quiet"]
    with tempfile.TemporaryDirectory(prefix="tfbridge-bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        requirements = scratch / "requirements.txt"
        requirements.write_text("".join(f"{p.name}=={p.version}\n" for p in lock.packages))
        timed([*tfbridge], env={"TFBRIDGE_HOME": str(scratch / "warm")})  # warms uv's cache
        setup = timed([*tfbridge], env={"TFBRIDGE_HOME": str(scratch / "home")})
        noop = min(
            timed([*tfbridge], env={"TFBRIDGE_HOME": str(scratch / "home")}) for _ in range(5)
        )
        pip_install_seconds(python, requirements, scratch, "pip-warmup")
        pip = pip_install_seconds(python, requirements, scratch, "pip")
    print(f"setup exam, warm uv cache (incl. smoke test): {setup:6.1f} s")
    print(f"pip install of the same {len(lock.packages)} pins, warm pip cache: {pip:6.1f} s")
    print(f"ratio pip / tfbridge setup: {pip / setup:6.2f}x")
    print(f"no-op re-setup (whole CLI process, best of 5): {noop:6.2f} s")


if __name__ == "__main__":
    main()
