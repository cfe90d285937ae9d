"""Benchmark `tfbridge sync` against plain `scp` to the same local OpenSSH server, in one run.

    python scripts/bench_sync.py [--units 16000] [--repeats 3]

Needs /usr/sbin/sshd (openssh-server) and an exam runtime to save a real ~50 MB Keras model
($TFBRIDGE_TEST_EXAM_PYTHON, else the exam env `tfbridge setup exam` built). Prints its figures.
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "sync"))

import sshd_server  # noqa: E402

from tfbridge.config import load_config  # noqa: E402
from tfbridge.sync import sync  # noqa: E402


def exam_python() -> Path:
    override = os.environ.get("TFBRIDGE_TEST_EXAM_PYTHON")
    if override:
        return Path(override)
    from tfbridge.envs import ready_python

    return ready_python("exam")


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=16000, help="hidden units (16000 ~ 50 MB)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tfbridge-bench-sync-") as scratch:
        work = Path(scratch)
        subprocess.run(
            [
                str(exam_python()),
                str(REPO / "tests/sync/make_models.py"),
                str(work / "models"),
                str(args.units),
            ],
            check=True,
            capture_output=True,
        )
        model = work / "models" / "big.h5"
        server = sshd_server.start(work / "sshd")
        try:
            run(work, model, server, args.repeats)
        finally:
            server.stop()


def run(work: Path, model: Path, server: sshd_server.SshServer, repeats: int) -> None:
    os.environ["TFBRIDGE_SSH_CONFIG"] = str(server.client_config)
    os.environ.pop("SSH_AUTH_SOCK", None)
    exam, project = work / "exam", work / "project"
    exam.mkdir()
    project.mkdir()
    (project / "tfbridge.toml").write_text(
        f'[target]\ndest = "{sshd_server.HOST_ALIAS}:{exam}"\n'
        f'[slots.big]\nmodel = "{model}"\nremote_dir = "Category1"\n'
    )
    config = load_config(project)

    def fresh_far_side() -> None:
        shutil.rmtree(exam / "Category1", ignore_errors=True)
        shutil.rmtree(exam / ".tfbridge-history", ignore_errors=True)
        for leftover in exam.glob("scp-*.h5"):
            leftover.unlink()

    def scp() -> None:
        subprocess.run(
            [
                "scp",
                "-q",
                "-F",
                str(server.client_config),
                str(model),
                f"{sshd_server.HOST_ALIAS}:{exam}/scp-copy.h5",
            ],
            check=True,
        )

    scp_times, sync_times, noop_times = [], [], []
    for _ in range(repeats):
        fresh_far_side()
        scp_times.append(timed(scp))
        fresh_far_side()
        sync_times.append(timed(lambda: sync(config)))
        noop_times.append(timed(lambda: sync(config)))
    from tfbridge.verify import verify

    gate = timed(lambda: verify(model))
    size_mb = model.stat().st_size / 1e6
    scp_s, sync_s, noop_s = (statistics.median(t) for t in (scp_times, sync_times, noop_times))
    print(f"model: {size_mb:.1f} MB, {repeats} repeats, medians")
    print(f"scp:                 {scp_s:.2f} s ({size_mb / scp_s:.0f} MB/s)")
    print(
        f"tfbridge sync:       {sync_s:.2f} s (verify gate {gate:.2f} s, upload, far-side "
        "sha256, rename)"
    )
    print(f"ratio sync/scp:      {sync_s / scp_s:.2f}")
    print(f"no-op re-sync:       {noop_s:.2f} s")


if __name__ == "__main__":
    main()
