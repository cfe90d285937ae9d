"""Fixtures for the sync tests: a real OpenSSH server on 127.0.0.1, real Keras .h5 models, and
projects whose tfbridge.toml points at the server or at a local directory."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import sshd_server

HERE = Path(__file__).parent
MODEL_SCRIPT = HERE / "make_models.py"
MODEL_CACHE = Path.home() / ".cache" / "tfbridge" / "sync-test-models"
_PASSED = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sshd_server.SshServer]:
    if not sshd_server.available():
        raise RuntimeError("the sync tests need OpenSSH's sshd: apt-get install -y openssh-server")
    server = sshd_server.start(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


@pytest.fixture
def ssh_env(sshd: sshd_server.SshServer, monkeypatch: pytest.MonkeyPatch) -> sshd_server.SshServer:
    """Point tfbridge at the test server's ssh config; no agent, never the real ~/.ssh."""
    monkeypatch.setenv("TFBRIDGE_SSH_CONFIG", str(sshd.client_config))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return sshd


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_PASSED] = report.passed
    return report


@pytest.fixture(autouse=True)
def _free_the_disk_after_a_pass(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[None]:
    """Uploads of 40 MB models add up on a shared disk: a passing test's files go at once (a
    failing one's stay to be looked at)."""
    yield
    if request.node.stash.get(_PASSED, False):
        shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.fixture(autouse=True)
def _own_tfbridge_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No exam env is "ready" in this home, so the gate runs verify's static checks only."""
    monkeypatch.setenv("TFBRIDGE_HOME", str(tmp_path / "tfbridge-home"))


@pytest.fixture(scope="session")
def models(exam_python: Path) -> dict[str, Path]:
    """Real Keras 2.9 models: first.h5 and second.h5 (same shape, other weights), big.h5 (~5 MB),
    huge.h5 (~40 MB), and bad.h5 (first.h5 rewritten the way Keras 3 saves it, which TF 2.9
    cannot load)."""
    key = hashlib.sha256(MODEL_SCRIPT.read_bytes()).hexdigest()[:16]
    directory = MODEL_CACHE / key
    if not (directory / "huge.h5").is_file():
        staging = MODEL_CACHE / f".{key}-{os.getpid()}"
        subprocess.run(
            [str(exam_python), str(MODEL_SCRIPT), str(staging)], check=True, capture_output=True
        )
        if directory.exists():  # another session made them meanwhile
            shutil.rmtree(staging)
        else:
            staging.replace(directory)
    found = {path.stem: path for path in directory.glob("*.h5")}
    found["bad"] = _keras3_style(found["first"], directory.parent / f"{key}-bad.h5")
    return found


def _keras3_style(source: Path, destination: Path) -> Path:
    import h5py

    if not destination.is_file():
        shutil.copy(source, destination)
        with h5py.File(destination, "r+") as handle:
            config = json.loads(handle.attrs["model_config"])
            for layer in config["config"]["layers"]:
                if layer["class_name"] == "InputLayer":
                    layer["config"]["batch_shape"] = layer["config"].pop("batch_input_shape")
            handle.attrs["model_config"] = json.dumps(config)
            handle.attrs["keras_version"] = "3.3.3"
    return destination


ProjectMaker = Callable[..., Path]


@pytest.fixture
def make_project(tmp_path: Path, models: dict[str, Path]) -> ProjectMaker:
    """make_project(dest, slots={"q1": ("first", "Category1")}, python=None) -> project root."""

    def make(
        dest: str,
        slots: dict[str, tuple[str, str]] | None = None,
        python: str | None = None,
        extra: str = "",
    ) -> Path:
        root = tmp_path / "project"
        (root / "models").mkdir(parents=True, exist_ok=True)
        lines = ["[target]", f'dest = "{dest}"']
        if python:
            lines.append(f'python = "{python}"')
        for name, (model, remote_dir) in (slots or {"q1": ("first", "Category1")}).items():
            shutil.copy(models[model], root / "models" / f"{name}.h5")
            lines += [
                f"[slots.{name}]",
                f'model = "models/{name}.h5"',
                f'remote_dir = "{remote_dir}"',
                "input_shape = [28, 28]",
                "output_shape = [10]",
                'output_activation = "softmax"',
            ]
        (root / "tfbridge.toml").write_text("\n".join(lines) + "\n" + extra)
        return root

    return make


@pytest.fixture(params=["local", "ssh"])
def dest(request: pytest.FixtureRequest, exam_dir: Path) -> str:
    """The exam directory as a target: a local directory, or over SSH to the test sshd."""
    if request.param == "ssh":
        request.getfixturevalue("ssh_env")
        return f"{sshd_server.HOST_ALIAS}:{exam_dir}"
    return str(exam_dir)


@pytest.fixture
def exam_dir(tmp_path: Path) -> Path:
    """The grading machine's exam project directory (the sync target)."""
    directory = tmp_path / "exam"
    directory.mkdir()
    return directory
