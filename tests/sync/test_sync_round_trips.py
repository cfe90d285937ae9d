"""What keeps sync near wire speed, proved on the real sshd (not timed): each far-side command
costs a login shell, so files are hashed by one hasher started on first need, asked once for all
slots by a no-op re-sync that must hash and once per slot by a send; uploads are hashed as they
are sent; a no-op loads neither h5py nor numpy."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sshd_server
from counting_ssh import CountingSsh

from tfbridge.config import load_config
from tfbridge.errors import EXIT_FAILED, TfbridgeError
from tfbridge.sync import open_transport, sync
from tfbridge.sync.local import LocalTransport
from tfbridge.sync.transport import BytesProgress

ProjectMaker = Callable[..., Path]
THREE_SLOTS = {
    "q1": ("first", "Category1"),
    "q2": ("second", "Category2"),
    "q3": ("big", "Category3"),
}


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_no_op_resync_checks_every_slot_in_one_far_side_command(
    ssh_env: sshd_server.SshServer, make_project: ProjectMaker, exam_dir: Path
) -> None:
    config = load_config(make_project(f"{sshd_server.HOST_ALIAS}:{exam_dir}", THREE_SLOTS))
    assert [s.action for s in sync(config).slots] == ["sent"] * 3

    far = CountingSsh(config.require_target())
    try:
        report = sync(config, transport=far)
    finally:
        far.close()
    assert [s.action for s in report.slots] == ["unchanged"] * 3
    assert far.commands == []
    [question] = far.questions
    for name in THREE_SLOTS:
        remote = exam_dir / THREE_SLOTS[name][1] / f"{name}.h5"
        assert str(remote) in question
        assert sha256_of(remote) == sha256_of(config.root / "models" / f"{name}.h5")


def test_replacing_a_model_hashes_the_upload_and_the_old_model_in_one_command(
    ssh_env: sshd_server.SshServer,
    make_project: ProjectMaker,
    exam_dir: Path,
    models: dict[str, Path],
) -> None:
    root = make_project(f"{sshd_server.HOST_ALIAS}:{exam_dir}")
    config = load_config(root)
    sync(config)
    (root / "models" / "q1.h5").write_bytes(models["second"].read_bytes())

    far = CountingSsh(config.require_target())
    try:
        [result] = sync(config, transport=far).slots
    finally:
        far.close()
    assert result.action == "sent"
    assert result.sha256 == sha256_of(models["second"])
    assert (exam_dir / "Category1" / "q1.h5").read_bytes() == models["second"].read_bytes()
    # first.h5 and second.h5 have one size: the survey hashes the far model (one question); the
    # upload's check hashes the copy and, for the history's name, the model it replaces (one more)
    assert far.commands == []
    assert [len(question) for question in far.questions] == [1, 2]
    [archived] = result.replaced
    assert Path(archived).read_bytes() == models["first"].read_bytes()
    assert f"-{sha256_of(models['first'])[:8]}-q1.h5" in archived


def test_an_upload_is_hashed_as_it_is_sent(
    dest: str, make_project: ProjectMaker, exam_dir: Path, models: dict[str, Path]
) -> None:
    far = open_transport(load_config(make_project(dest)).require_target())
    reported: list[tuple[int, int]] = []
    try:
        sent = far.put(
            str(models["huge"]),
            str(exam_dir / "copy.part"),
            lambda done, total: reported.append((done, total)),
        )
    finally:
        far.close()
    size = models["huge"].stat().st_size
    assert sent == sha256_of(models["huge"]) == sha256_of(exam_dir / "copy.part")
    assert reported[-1] == (size, size)
    assert [done for done, _ in reported] == sorted(done for done, _ in reported)


def test_far_side_hashes_name_what_is_not_a_regular_file_without_opening_it(
    dest: str, make_project: ProjectMaker, exam_dir: Path, models: dict[str, Path]
) -> None:
    model = exam_dir / "model.h5"
    model.write_bytes(models["first"].read_bytes())
    os.mkfifo(exam_dir / "fifo.h5")  # hashing it would wait for a writer forever
    (exam_dir / "dir.h5").mkdir()
    paths = [str(exam_dir / name) for name in ("fifo.h5", "model.h5", "dir.h5", "absent.h5")]
    far = open_transport(load_config(make_project(dest)).require_target())
    try:
        digests = far.sha256_many(paths)
    finally:
        far.close()
    assert digests == dict(zip(paths, [None, sha256_of(model), None, None], strict=True))


def test_a_path_with_a_newline_is_hashed_too(
    dest: str, make_project: ProjectMaker, exam_dir: Path, models: dict[str, Path]
) -> None:
    """The line-based hasher cannot take it: a one-shot command hashes it instead."""
    odd = exam_dir / "two\nlines.h5"
    odd.write_bytes(models["second"].read_bytes())
    far = open_transport(load_config(make_project(dest)).require_target())
    try:
        digests = far.sha256_many([str(odd), str(odd)])
        again = far.sha256_many([str(odd)])
    finally:
        far.close()
    assert digests == again == {str(odd): sha256_of(models["second"])}


NO_OP_IN_A_FRESH_PROCESS = """
import json, sys
from pathlib import Path
from tfbridge.config import load_config
from tfbridge.sync import sync
report = sync(load_config(Path(sys.argv[1])))
heavy = sorted({"h5py", "numpy", "rich", "tensorflow"} & set(sys.modules))
print(json.dumps({"actions": [s.action for s in report.slots], "heavy": heavy}))
"""


def test_a_no_op_resync_loads_neither_h5py_nor_numpy(
    ssh_env: sshd_server.SshServer, make_project: ProjectMaker, exam_dir: Path
) -> None:
    root = make_project(f"{sshd_server.HOST_ALIAS}:{exam_dir}", THREE_SLOTS)
    sync(load_config(root))
    done = subprocess.run(
        [sys.executable, "-c", NO_OP_IN_A_FRESH_PROCESS, str(root)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"actions": ["unchanged"] * 3, "heavy": []}


class RewritingLocal(LocalTransport):
    """A real local transport; as the upload starts, something rewrites the local model."""

    def __init__(self, root: str, model: Path, new_content: bytes) -> None:
        super().__init__(root)
        self.model, self.new_content = model, new_content

    def put(self, local: str, remote: str, progress: BytesProgress | None = None) -> str:
        self.model.write_bytes(self.new_content)
        return super().put(local, remote, progress)


def test_a_model_rewritten_while_it_is_sent_is_not_placed(
    make_project: ProjectMaker, exam_dir: Path, models: dict[str, Path]
) -> None:
    root = make_project(str(exam_dir))
    sync(load_config(root))
    local_model = root / "models" / "q1.h5"
    # second.h5 is as large as the first, in place: sync hashes it before sending
    local_model.write_bytes(models["second"].read_bytes())
    far = RewritingLocal(str(exam_dir), local_model, models["big"].read_bytes())
    with pytest.raises(TfbridgeError, match="changed while it was being sent") as raised:
        sync(load_config(root), transport=far)
    assert raised.value.exit_code == EXIT_FAILED
    assert os.listdir(exam_dir / "Category1") == ["q1.h5"]
    assert (exam_dir / "Category1" / "q1.h5").read_bytes() == models["first"].read_bytes()
