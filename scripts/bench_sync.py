"""Benchmark `tfbridge sync` against plain `scp` to the same local OpenSSH server, in one run.

    python scripts/bench_sync.py [--mb 100] [--repeats 3]

Needs /usr/sbin/sshd (openssh-server) and an exam runtime to save a real Keras model of about
`--mb` megabytes ($TFBRIDGE_TEST_EXAM_PYTHON, else the exam env `tfbridge setup exam` built).
Prints medians; asserts nothing. What each line times:

- scp: `scp` of the model to the server (the wire-speed reference).
- transfer, gate satisfied: the `sync()` API into an empty slot, with a gate that returns the
  verdict already known (no exam worker): lock, survey, upload, far-side SHA-256, rename.
- whole command: `tfbridge sync` in a fresh process into an empty slot, verify gate included.
- no-op re-sync: `tfbridge sync` in a fresh process when the slot already holds the model, over
  SSH and to a local directory; and the same over SSH through the API (no interpreter start-up).
- what bounds the no-op: the no-op's imports over 20 ms (`-X importtime`), and the cost of one
  far-side command (sshd starts the user's login shell for each; a no-op whose stamps match, see
  tfbridge/sync/stamps.py, runs none).

Fresh processes run with a bytecode cache (PYTHONPYCACHEPREFIX in the scratch directory, warmed
first), as an installed tfbridge has: where PYTHONDONTWRITEBYTECODE is set, every run would
otherwise compile asyncssh from source.
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
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "sync"))

import sshd_server  # noqa: E402

from tfbridge.config import ProjectConfig, load_config  # noqa: E402
from tfbridge.contract import Contract  # noqa: E402
from tfbridge.sync import open_transport, sync  # noqa: E402
from tfbridge.verify.result import ModelReport  # noqa: E402

# make_models.py's big model is Dense(units) on 28x28 inputs: 784 float32 weights per unit
BYTES_PER_UNIT = 784 * 4


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


def known_pass(models: Sequence[tuple[Path, Contract]]) -> list[ModelReport]:
    """The gate with the verdict already known: what sync costs beyond verifying."""
    return [ModelReport(path, "pass") for path, _ in models]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=100, help="size of the model, in MB")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tfbridge-bench-sync-") as scratch:
        work = Path(scratch)
        units = args.mb * 1_000_000 // BYTES_PER_UNIT
        script = REPO / "tests/sync/make_models.py"
        subprocess.run(
            [str(exam_python()), str(script), str(work / "models"), str(units)],
            check=True,
            capture_output=True,
        )
        model = work / "models" / "big.h5"
        server = sshd_server.start(work / "sshd")
        try:
            run(work, model, server, args.repeats)
        finally:
            server.stop()


def write_project(project: Path, dest: str, model: Path) -> None:
    project.mkdir()
    (project / "tfbridge.toml").write_text(
        f'[target]\ndest = "{dest}"\n[slots.big]\nmodel = "{model}"\nremote_dir = "Category1"\n'
    )


def cli_env(work: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPYCACHEPREFIX=str(work / "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def cli_sync(project: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, *flags, "-m", "tfbridge", "sync"],
        cwd=project,
        check=False,
        capture_output=True,
        text=True,
        env=cli_env(project.parent),
    )
    if done.returncode != 0:
        raise SystemExit(f"tfbridge sync failed ({done.returncode}): {done.stderr[-2000:]}")
    return done


def heavy_imports(importtime: str, threshold_us: int = 20_000) -> list[str]:
    """The top-level imports of an `-X importtime` log that took over `threshold_us`."""
    found = []
    for line in importtime.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if len(fields) == 3 and fields[1].strip().isdigit() and not fields[2].startswith("  "):
            cumulative, name = int(fields[1]), fields[2].strip()
            if cumulative > threshold_us:
                found.append(f"{name} {cumulative / 1000:.0f} ms")
    return found


def far_side_command_cost(config: ProjectConfig, repeats: int) -> float:
    """One far-side program started and answering (`echo`): the user's login shell each time."""
    far = open_transport(config.require_target())

    def one_command() -> None:
        conversation = far.converse(["echo", "ready"])
        conversation.readline(60)
        conversation.close()

    try:
        return statistics.median(timed(one_command) for _ in range(repeats))
    finally:
        far.close()


def run(work: Path, model: Path, server: sshd_server.SshServer, repeats: int) -> None:
    os.environ["TFBRIDGE_SSH_CONFIG"] = str(server.client_config)
    os.environ.pop("SSH_AUTH_SOCK", None)
    exam, local_exam = work / "exam", work / "local-exam"
    exam.mkdir()
    local_exam.mkdir()
    project, local_project = work / "project", work / "local-project"
    write_project(project, f"{sshd_server.HOST_ALIAS}:{exam}", model)
    write_project(local_project, str(local_exam), model)
    config = load_config(project)

    def fresh_far_side() -> None:
        for far in (exam, local_exam):
            shutil.rmtree(far / "Category1", ignore_errors=True)
            shutil.rmtree(far / ".tfbridge-history", ignore_errors=True)
        for leftover in exam.glob("scp-*.h5"):
            leftover.unlink()

    def scp() -> None:
        destination = f"{sshd_server.HOST_ALIAS}:{exam}/scp-copy.h5"
        subprocess.run(
            ["scp", "-q", "-F", str(server.client_config), str(model), destination],
            check=True,
        )

    times: dict[str, list[float]] = {}

    def measure(name: str, action: Callable[[], object]) -> None:
        times.setdefault(name, []).append(timed(action))

    cli_sync(local_project)  # warms the bytecode cache
    for _ in range(repeats):
        fresh_far_side()
        measure("scp", scp)
        fresh_far_side()
        measure("transfer", lambda: sync(config, gate=known_pass))
        measure("noop_api", lambda: sync(config, gate=known_pass))
        fresh_far_side()
        measure("whole", lambda: cli_sync(project))
        measure("noop_ssh", lambda: cli_sync(project))
        cli_sync(local_project)
        measure("noop_local", lambda: cli_sync(local_project))
    report(model.stat().st_size / 1e6, repeats, times)
    print(
        "no-op imports over 20 ms: "
        + ", ".join(heavy_imports(cli_sync(project, "-X", "importtime").stderr))
    )
    print(f"one far-side command (`true`): {far_side_command_cost(config, repeats):.2f} s")


def report(size_mb: float, repeats: int, times: dict[str, list[float]]) -> None:
    median = {name: statistics.median(values) for name, values in times.items()}
    scp_s = median["scp"]
    print(f"model: {size_mb:.1f} MB, {repeats} repeats, medians")
    print(f"scp:                              {scp_s:.2f} s ({size_mb / scp_s:.0f} MB/s)")
    print(
        f"transfer, gate satisfied (API):   {median['transfer']:.2f} s "
        f"({median['transfer'] / scp_s:.2f}x scp; lock, survey, upload, far-side sha256, rename)"
    )
    print(
        f"whole command (verify gate):      {median['whole']:.2f} s "
        f"({median['whole'] / scp_s:.2f}x scp)"
    )
    print(f"no-op re-sync over SSH (command): {median['noop_ssh']:.2f} s")
    print(f"no-op re-sync over SSH (API):     {median['noop_api']:.2f} s")
    print(f"no-op re-sync, local dir (command): {median['noop_local']:.2f} s")


if __name__ == "__main__":
    main()
