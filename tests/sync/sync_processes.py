"""Real `tfbridge sync` processes for the tests that interrupt, kill or race them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PART_SUFFIX = ".part"


@dataclass
class SyncProcess:
    process: subprocess.Popen[str]
    stderr_path: Path

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def finish(self, timeout: float = 300) -> tuple[int, str, str]:
        """(exit code, stdout, stderr) once it has ended."""
        stdout, _ = self.process.communicate(timeout=timeout)
        return self.process.returncode, stdout, self.stderr


def start_sync(root: Path, *args: str, name: str = "sync") -> SyncProcess:
    """`tfbridge sync ARGS` in `root`; stderr goes to a file the test can read while it runs."""
    stderr_path = root.parent / f"{name}-{time.monotonic_ns()}.stderr"
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "tfbridge", "sync", *args],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ, "NO_COLOR": "1"},
        )
    return SyncProcess(process, stderr_path)


def wait_until(condition: Callable[[], bool], running: SyncProcess, what: str) -> None:
    """Poll fast (an upload lasts a fraction of a second) until `condition` holds."""
    deadline = time.monotonic() + 120
    while not condition():
        if running.process.poll() is not None:
            raise AssertionError(f"tfbridge ended before {what}: {running.stderr}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.001)


def use_model(source: Path, destination: Path) -> None:
    """Make `destination` the local model `source`: a hard link where it can be (tfbridge never
    writes its input), so a 40 MB model costs no disk space per test."""
    destination.unlink(missing_ok=True)
    try:
        os.link(source, destination)
    except OSError:
        shutil.copyfile(source, destination)


def parts(directory: Path) -> list[Path]:
    try:
        return [directory / n for n in os.listdir(directory) if n.endswith(PART_SUFFIX)]
    except FileNotFoundError:
        return []


def models_in(directory: Path) -> list[str]:
    return sorted(name for name in os.listdir(directory) if name.endswith(".h5"))
