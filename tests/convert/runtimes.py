"""Running code in the real runtimes that convert's tests compare: saver envs and TF 2.9."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import REPO


def saver_python(tag: str) -> Path:
    """The Python of a saver env of scripts/fixtures/savers.toml (built with uv on first use)."""
    sys.path.insert(0, str(REPO / "scripts" / "fixtures"))
    import saver_envs

    saver = next(s for s in saver_envs.load_savers() if s.tag == tag)
    saver_envs.ensure_env(saver)
    return saver.env_python


def run_script(python: Path, script: str, *args: str, stdin: str = "") -> Any:
    """Run `script` with `python`; the JSON its last line of output holds."""
    done = subprocess.run(
        [str(python), "-c", script, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
