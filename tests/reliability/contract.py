"""The contract every command keeps on hostile input, and the tools to check it.

- the exit code says what happened: 1 or 2 for a bad input, never 0 for a non-model, 3 only when
  the environment failed (never here), and no "internal error";
- no traceback; with --json exactly one JSON object on stdout, `"schema": 1`, `"error"` on exit 2/3;
- the inputs are left as they were (bytes, modes, FIFOs still FIFOs, links still links);
- nothing is left outside the command's declared outputs (no temp files, no strays);
- no code from a model ran (the marker file never appears);
- the command finishes within a bound (a hang is a failure, not a wait).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import stat
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.in_process import can_run_in_process, child_processes, run_in_process
from tests.reliability.hostile import MARKER_NAME
from tests.reliability.parallel import THREAD_NAME, in_a_worker_thread

TIMEOUT_SECONDS = 120
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # bytes that surrogateescape could not decode
# Root reads mode-000 files; without these capabilities it is refused as any user is.
DROP_ROOT_READ = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]


@dataclass(frozen=True)
class Entry:
    """What one path under the tree is, without following links or opening special files."""

    kind: str
    mode: int
    detail: str = ""  # a regular file's sha256, a link's target


Tree = dict[str, Entry]


def snapshot(root: Path) -> Tree:
    tree: Tree = {}
    for directory, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(directory) / name
            tree[os.fsdecode(path.relative_to(root))] = _entry(path)
    return tree


def _entry(path: Path) -> Entry:
    info = path.lstat()
    mode = stat.S_IMODE(info.st_mode)
    if stat.S_ISLNK(info.st_mode):
        return Entry("symlink", mode, os.readlink(path))
    if stat.S_ISREG(info.st_mode):
        return Entry("file", mode, hashlib.sha256(path.read_bytes()).hexdigest())
    kinds = {stat.S_ISDIR: "dir", stat.S_ISFIFO: "fifo", stat.S_ISSOCK: "socket"}
    kind = next((label for test, label in kinds.items() if test(info.st_mode)), "other")
    return Entry(kind, mode)


@dataclass(frozen=True)
class Outputs:
    """What a command may write. `files`: created or replaced, on success only. `state`: folders
    of tfbridge's own records, written whatever happens. `target`: a folder that may gain files on
    success, and at most folders on failure (a sync target)."""

    files: tuple[Path, ...] = ()
    state: tuple[Path, ...] = ()
    target: Path | None = None

    def allows(self, path: Path, entry: Entry | None, succeeded: bool) -> bool:
        if _inside(path, self.state):
            return True
        if self.target is not None and _inside(path, (self.target,)):
            return succeeded or entry is None or entry.kind == "dir"
        return succeeded and path in self.files


def _inside(path: Path, folders: Iterable[Path]) -> bool:
    return any(folder in (path, *path.parents) for folder in folders)


def tree_changes(
    before: Tree, after: Tree, root: Path, outputs: Outputs, *, succeeded: bool
) -> list[str]:
    """Every change outside the declared outputs; a declared output may replace only a regular
    file (a FIFO or a directory in its place must survive)."""
    problems = []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        replaceable = old is None or old.kind == "file"
        if replaceable and outputs.allows(root / name, new, succeeded):
            continue
        problems.append(f"{name}: {_describe(old)} -> {_describe(new)}")
    return problems


def _describe(entry: Entry | None) -> str:
    if entry is None:
        return "absent"
    return f"{entry.kind} {oct(entry.mode)} {entry.detail[:12]}"


def markers(root: Path) -> list[Path]:
    return sorted(root.rglob(MARKER_NAME))


class Finished(subprocess.CompletedProcess[str]):
    """A finished command, and whether it left processes of its own running (a worker)."""

    left_running = False


def run_cli(
    args: Sequence[str | Path],
    cwd: Path,
    *,
    unprivileged: bool = False,
    in_process: bool | None = None,
) -> Finished:
    """The real CLI, as `tests.conftest.run_tfbridge` runs it, but in its own process group: a
    command that hangs, or leaves a TensorFlow worker behind, is stopped with everything it
    started (a worker stuck in a model's code would otherwise spin on a shared machine).
    Output that is not UTF-8 is kept (as surrogates) for `contract_problems` to report.
    `in_process`: the same entry point run in this process (tests/in_process.py); by default,
    so in the main thread (parallel.py's threads run real processes), unless root's privileges
    must be dropped (setpriv needs a process)."""
    if in_process is None:
        in_process = not unprivileged and not in_a_worker_thread() and can_run_in_process()
    if in_process:
        return _run_here(args, cwd)
    prefix = DROP_ROOT_READ if unprivileged and os.geteuid() == 0 else []
    command = [*prefix, sys.executable, "-m", "tfbridge", *map(str, args)]
    with subprocess.Popen(
        command,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="surrogateescape",
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            process.communicate()
            pytest.fail(
                f"`tfbridge {' '.join(map(str, args))}` hung: no exit in {TIMEOUT_SECONDS} s"
            )
    finished = Finished(command, process.returncode, stdout, stderr)
    finished.left_running = _kill_group(process.pid)
    return finished


def _run_here(args: Sequence[str | Path], cwd: Path) -> Finished:
    before = child_processes(skip_threads_named=THREAD_NAME)
    try:
        done = run_in_process(
            [str(arg) for arg in args], dict(os.environ), cwd, TIMEOUT_SECONDS, "surrogateescape"
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`tfbridge {' '.join(map(str, args))}` hung: no exit in {TIMEOUT_SECONDS} s")
    finished = Finished(done.args, done.returncode, done.stdout, done.stderr)
    for child in child_processes(skip_threads_named=THREAD_NAME) - before:
        finished.left_running = True
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
    return finished


def _kill_group(group: int) -> bool:
    """Kill what is left of a process group; whether anything was."""
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        return False
    return True


def contract_problems(
    done: subprocess.CompletedProcess[str], allowed_exits: Iterable[int], json_output: bool
) -> list[str]:
    """What the finished command did wrong, as readable lines (empty when it kept the contract)."""
    problems = []
    code = done.returncode
    if code not in set(allowed_exits):
        problems.append(f"exit {code}, expected one of {sorted(set(allowed_exits))}")
    if "Traceback" in done.stderr or "Traceback" in done.stdout:
        problems.append("a traceback was printed")
    if getattr(done, "left_running", False):
        problems.append("left processes running after it exited (killed by the test)")
    if "internal error" in done.stderr:
        problems.append("an internal error (a bug) was reported")
    if _UNDECODABLE.search(done.stdout + done.stderr):
        problems.append("printed bytes that are not UTF-8 (a file name shown raw)")
    if code in (2, 3):
        problems.extend(_error_line_problems(done.stderr))
    if json_output:
        problems.extend(_json_problems(done.stdout, code))
    return problems


def _error_line_problems(stderr: str) -> list[str]:
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    if len(errors) != 1 or lines[-1] != errors[0]:
        return ["stderr does not end with exactly one `error:` line"]
    return []


def _json_problems(stdout: str, code: int) -> list[str]:
    try:
        document: Any = json.loads(stdout)
    except ValueError as error:
        return [f"stdout is not exactly one JSON document ({error}): {stdout[:200]!r}"]
    if not isinstance(document, dict):
        return [f"the JSON on stdout is a {type(document).__name__}, not an object"]
    problems = []
    if document.get("schema") != 1:
        problems.append('the JSON object lacks "schema": 1')
    if code in (2, 3):
        error = document.get("error")
        if not isinstance(error, dict) or set(error) != {"message", "hint", "exit_code"}:
            problems.append(f'exit {code} without an "error" object: {stdout[:200]!r}')
        elif error["exit_code"] != code:
            problems.append(f"the JSON error says exit {error['exit_code']}, the process {code}")
    return problems


def first_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return next((line for line in lines if line.startswith("error")), lines[0] if lines else "")
