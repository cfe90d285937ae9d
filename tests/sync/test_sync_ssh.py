"""Sync over SSH to a real OpenSSH server on 127.0.0.1 (see sshd_server.py)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from unittest.mock import ANY

import pytest
import sshd_server

from tests.conftest import run_tfbridge
from tfbridge.config import load_config
from tfbridge.errors import TfbridgeError
from tfbridge.phases import Phase
from tfbridge.sync import sync

ProjectMaker = Callable[..., Path]
ALIAS = sshd_server.HOST_ALIAS


def tfbridge(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_tfbridge(*args, cwd=root)


def error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The one error line (progress lines may come before it on stderr)."""
    assert "Traceback" not in done.stderr
    [line] = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    return line


def slot_models(slot_dir: Path) -> list[str]:
    return sorted(name for name in os.listdir(slot_dir) if name.endswith(".h5"))


def test_sync_status_and_rollback_over_ssh_alias(
    ssh_env: sshd_server.SshServer,
    make_project: ProjectMaker,
    exam_dir: Path,
    models: dict[str, Path],
) -> None:
    root = make_project(f"{ALIAS}:{exam_dir}")
    first = tfbridge(root, "sync", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["slots"][0]["action"] == "sent"
    assert (exam_dir / "Category1" / "q1.h5").read_bytes() == models["first"].read_bytes()
    assert json.loads(tfbridge(root, "sync", "--json").stdout)["slots"][0]["action"] == (
        "unchanged"
    )
    status = tfbridge(root, "sync", "status", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["slots"][0]["state"] == "in-sync"

    (root / "models" / "q1.h5").write_bytes(models["second"].read_bytes())
    second = json.loads(tfbridge(root, "sync", "--json").stdout)["slots"][0]
    assert second["action"] == "sent" and len(second["replaced"]) == 1
    assert (exam_dir / "Category1" / "q1.h5").read_bytes() == models["second"].read_bytes()

    back = tfbridge(root, "sync", "rollback", "q1", "--json")
    assert back.returncode == 0, back.stderr
    assert (
        json.loads(back.stdout)["sha256"]
        == hashlib.sha256(models["first"].read_bytes()).hexdigest()
    )
    assert slot_models(exam_dir / "Category1") == ["q1.h5"]
    assert (exam_dir / "Category1" / "q1.h5").read_bytes() == models["first"].read_bytes()


def test_connection_cut_mid_transfer_keeps_the_slot(
    ssh_env: sshd_server.SshServer,
    make_project: ProjectMaker,
    exam_dir: Path,
    models: dict[str, Path],
) -> None:
    root = make_project(f"{ALIAS}:{exam_dir}")
    sync(load_config(root))
    (root / "models" / "q1.h5").write_bytes(models["big"].read_bytes())
    cuts: list[int] = []

    def cut_halfway(event: Phase) -> None:
        if event.stage == "upload" and 0 < event.done < event.total and not cuts:
            cuts.append(event.done)
            ssh_env.cut_connections()

    with pytest.raises(TfbridgeError, match=r"connection .* was lost") as caught:
        sync(load_config(root), progress=cut_halfway)
    assert "keeps its previous model" in caught.value.hint
    assert caught.value.exit_code == 3
    assert cuts, "the upload never reported progress"
    slot_dir = exam_dir / "Category1"
    assert slot_models(slot_dir) == ["q1.h5"]
    assert (slot_dir / "q1.h5").read_bytes() == models["first"].read_bytes()
    leftovers = [name for name in os.listdir(slot_dir) if name.endswith(".part")]
    assert len(leftovers) == 1

    report = sync(load_config(root))
    assert report.cleaned_temps == 1
    assert sorted(os.listdir(slot_dir)) == ["q1.h5"]
    assert (slot_dir / "q1.h5").read_bytes() == models["big"].read_bytes()


def _client_config(
    server: sshd_server.SshServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **replace: str
) -> None:
    text = server.client_config.read_text()
    for key, value in replace.items():
        text = "\n".join(
            f"  {key} {value}" if line.strip().startswith(key + " ") else line
            for line in text.splitlines()
        )
    config = tmp_path / "ssh_config"
    config.write_text(text + "\n")
    monkeypatch.setenv("TFBRIDGE_SSH_CONFIG", str(config))


def test_unknown_host_key_is_refused_with_the_command_to_trust_it(
    ssh_env: sshd_server.SshServer,
    make_project: ProjectMaker,
    exam_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    _client_config(ssh_env, tmp_path, monkeypatch, UserKnownHostsFile=str(empty))
    root = make_project(f"{ALIAS}:{exam_dir}")
    done = tfbridge(root, "sync")
    assert done.returncode == 3
    assert "not in your known_hosts" in error_line(done)
    assert f"ssh-keyscan -p {ssh_env.port} 127.0.0.1 >> ~/.ssh/known_hosts" in done.stderr
    assert os.listdir(exam_dir) == []


def test_failed_authentication_is_one_line(
    ssh_env: sshd_server.SshServer,
    make_project: ProjectMaker,
    exam_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stranger = tmp_path / "stranger_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    _client_config(ssh_env, tmp_path, monkeypatch, IdentityFile=str(stranger))
    root = make_project(f"{ALIAS}:{exam_dir}")
    done = tfbridge(root, "sync")
    assert done.returncode == 3
    assert error_line(done).startswith(f"error: authentication failed for {ALIAS}")


def test_permission_denied_keeps_the_slot(
    tmp_path: Path,
    make_project: ProjectMaker,
    exam_dir: Path,
    models: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read_only = sshd_server.start(tmp_path / "sshd-read-only", sftp_flags="-R")
    try:
        monkeypatch.setenv("TFBRIDGE_SSH_CONFIG", str(read_only.client_config))
        monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
        (exam_dir / "Category1").mkdir()
        (exam_dir / "Category1" / "old.h5").write_bytes(models["second"].read_bytes())
        root = make_project(f"{ALIAS}:{exam_dir}")
        done = tfbridge(root, "sync")
        assert done.returncode == 3
        assert error_line(done).startswith(f"error: permission denied on {ALIAS}")
        assert sorted(os.listdir(exam_dir / "Category1")) == ["old.h5"]
    finally:
        read_only.stop()


def test_symlink_out_of_the_target_is_refused_over_ssh(
    ssh_env: sshd_server.SshServer, make_project: ProjectMaker, exam_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (exam_dir / "Category1").symlink_to(outside)
    root = make_project(f"{ALIAS}:{exam_dir}")
    done = tfbridge(root, "sync")
    assert done.returncode == 2
    assert "escapes the target" in error_line(done)
    assert os.listdir(outside) == []


@pytest.mark.runtime
def test_remote_verify_runs_the_worker_with_the_far_exam_python(
    ssh_env: sshd_server.SshServer,
    make_project: ProjectMaker,
    exam_dir: Path,
    exam_python: Path,
    models: dict[str, Path],
) -> None:
    from tfbridge.runtime import write_fingerprint

    root = make_project(f"{ALIAS}:{exam_dir}", python=str(exam_python))
    write_fingerprint(root / "models" / "q1.h5", exam_python)
    done = tfbridge(root, "sync", "--remote-verify", "--json")
    assert done.returncode == 0, done.stderr
    remote = json.loads(done.stdout)["slots"][0]["remote"]
    assert remote["verdict"] == "pass" and remote["tf_version"] == "2.9.0"
    assert "outputs match the fingerprint" in remote["message"]

    (root / "models" / "q1.h5").write_bytes(models["bad"].read_bytes())
    forced = tfbridge(root, "sync", "--remote-verify", "--force", "--json")
    assert forced.returncode == 1
    remote = json.loads(forced.stdout)["slots"][0]["remote"]
    assert remote["verdict"] == "fail"
    assert "batch_shape" in remote["message"]


@pytest.mark.parametrize(
    "command", [("sync",), ("sync", "status"), ("sync", "rollback", "q1")], ids=" ".join
)
def test_unreachable_host_is_exit_3_and_one_json_object(
    ssh_env: sshd_server.SshServer,
    make_project: ProjectMaker,
    exam_dir: Path,
    command: tuple[str, ...],
) -> None:
    root = make_project(f"127.0.0.1:{exam_dir}")
    toml = root / "tfbridge.toml"
    closed_port = sshd_server._free_port()
    toml.write_text(toml.read_text().replace("[slots.q1]", f"port = {closed_port}\n[slots.q1]"))
    done = tfbridge(root, *command, "--json")
    assert done.returncode == 3
    assert error_line(done).startswith(f"error: cannot reach 127.0.0.1 port {closed_port}")
    assert json.loads(done.stdout) == {
        "schema": 1,
        "error": {"message": ANY, "hint": ANY, "exit_code": 3},
    }
