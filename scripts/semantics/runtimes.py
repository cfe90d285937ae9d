"""The Keras lines the semantics table compares with 2.9, each in its own uv venv."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import compare

PYENV_VERSIONS = Path.home() / ".pyenv" / "versions"
VENVS_ROOT = Path(os.environ.get("TFBRIDGE_SEMANTICS_VENVS", "/tmp/semantics-venvs"))
TEST_HOME = Path(os.environ.get("TFBRIDGE_TEST_HOME", Path.home() / ".cache" / "tfbridge-tests"))
EXAM_PYTHON = TEST_HOME / "envs" / "exam" / "bin" / "python"
STAMP_NAME = "tfbridge-semantics.json"


@dataclass(frozen=True)
class Runtime:
    """One Keras line: `line` is the key in the table, `python` a pyenv version."""

    line: str
    python: str
    requirements: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)

    @property
    def venv(self) -> Path:
        return VENVS_ROOT / self.line

    @property
    def interpreter(self) -> Path:
        return self.venv / "bin" / "python"

    def is_built(self) -> bool:
        stamp = self.venv / STAMP_NAME
        if not stamp.is_file() or not self.interpreter.exists():
            return False
        return bool(json.loads(stamp.read_text()) == list(self.requirements))


# Most important first: they are built and probed in this order, one at a time.
RUNTIMES: tuple[Runtime, ...] = (
    Runtime("keras-3.15", "3.11.7", ("tensorflow==2.17.1", "keras==3.15.1", "numpy<2")),
    Runtime("keras-3.6", "3.11.7", ("tensorflow==2.18.1", "keras==3.6.0", "numpy<2")),
    Runtime(
        "tf-keras",
        "3.11.7",
        ("tensorflow==2.17.1", "tf-keras==2.17.0", "numpy<2"),
        {"TF_USE_LEGACY_KERAS": "1"},
    ),
    Runtime("2.15", "3.11.7", ("tensorflow==2.15.1", "numpy<2")),
    Runtime("2.13", "3.11.7", ("tensorflow==2.13.1", "numpy<2")),
    Runtime("2.14", "3.11.7", ("tensorflow==2.14.1", "numpy<2")),
    Runtime("2.12", "3.11.7", ("tensorflow==2.12.1", "numpy<2")),
    Runtime("2.11", "3.10.13", ("tensorflow==2.11.1", "protobuf<3.20", "numpy<1.24")),
    Runtime("2.10", "3.10.13", ("tensorflow==2.10.1", "protobuf<3.20", "numpy<1.24")),
)


def runtime_env(runtime: Runtime | None) -> dict[str, str]:
    """The process environment a probe runs in: CPU only, quiet, deterministic hashing."""
    env = dict(os.environ)
    env.update(runtime.env if runtime else {})
    env.update({"TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "", "PYTHONHASHSEED": "0"})
    return env


def build(runtime: Runtime, log: Callable[[str], None] = print) -> Path:
    """Create (or reuse) the runtime's venv with uv; return its interpreter."""
    if runtime.is_built():
        return runtime.interpreter
    base = PYENV_VERSIONS / runtime.python / "bin" / "python"
    log(f"[{runtime.line}] uv venv with {base}; installing {' '.join(runtime.requirements)}")
    subprocess.run(
        ["uv", "venv", "--quiet", "--clear", "--python", str(base), str(runtime.venv)], check=True
    )
    subprocess.run(
        [
            "uv",
            "pip",
            "install",
            "--quiet",
            "--python",
            str(runtime.interpreter),
            *runtime.requirements,
        ],
        check=True,
    )
    (runtime.venv / STAMP_NAME).write_text(json.dumps(list(runtime.requirements)))
    return runtime.interpreter


def built_runtimes() -> list[Runtime]:
    """The lines whose venv exists on this machine (tests re-probe only these)."""
    return [runtime for runtime in RUNTIMES if runtime.is_built()]


PROBE_SCRIPT = Path(__file__).with_name("probe.py")


def run_probe(
    interpreter: Path, runtime: Runtime | None, *args: str, timeout: float = 900
) -> dict[str, Any]:
    """Run probe.py with `interpreter` (2.9's when `runtime` is None) and return its dump."""
    done = subprocess.run(
        [str(interpreter), str(PROBE_SCRIPT), *args],
        env=runtime_env(runtime),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{interpreter}: probe.py failed:\n{done.stderr[-3000:]}")
    dump: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return dump


def ask_exam(exam_interpreter: Path, option: str, requests: dict[str, Any]) -> dict[str, Any]:
    """Run probe.py --accepted or --replay in 2.9 with `requests` (see compare.py)."""
    with tempfile.TemporaryDirectory(prefix="tfbridge-semantics-") as folder:
        request_file = Path(folder) / "requests.json"
        request_file.write_text(json.dumps(requests))
        return run_probe(exam_interpreter, None, option, str(request_file))


def make_table(
    exam_interpreter: Path, base: compare.Dump, lines: dict[str, compare.Dump]
) -> dict[str, Any]:
    """The table from 2.9's dump and the lines' dumps, asking 2.9 what the comparison needs."""
    evidence = compare.Evidence29()
    evidence.accepts = ask_exam(
        exam_interpreter, "--accepted", compare.acceptance_requests(base, lines)
    )
    evidence.requests = compare.replay_requests(base, lines, evidence.accepts)
    evidence.replays = ask_exam(exam_interpreter, "--replay", evidence.requests)
    return compare.build_table(base, lines, evidence)
