"""A throwaway OpenSSH server on 127.0.0.1 for the sync tests and benchmark.

Generated host and user keys (ed25519), `StrictModes no`, running as the current user; the client
side (ssh config, known_hosts, identity) lives in the same directory, never in the real ~/.ssh.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")
HOST_ALIAS = "tfbridge-test"


@dataclass
class SshServer:
    directory: Path
    port: int
    user: str
    process: subprocess.Popen[bytes]

    @property
    def client_config(self) -> Path:
        return self.directory / "ssh_config"

    @property
    def known_hosts(self) -> Path:
        return self.directory / "known_hosts"

    @property
    def identity(self) -> Path:
        return self.directory / "id_ed25519"

    def session_pids(self) -> list[int]:
        """The processes serving connections: every descendant of the listener we started."""
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                parents[int(entry.name)] = int(fields[1])
        found: list[int] = []
        frontier = [self.process.pid]
        while frontier:
            parent = frontier.pop()
            children = [pid for pid, ppid in parents.items() if ppid == parent]
            found += children
            frontier += children
        return found

    def cut_connections(self) -> None:
        """Kill the sessions (not the listener): the client sees its connection drop."""
        for pid in self.session_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def available() -> bool:
    return SSHD.exists() and shutil.which("ssh-keygen") is not None


def start(directory: Path, sftp_flags: str = "") -> SshServer:
    """`sftp_flags="-R"` makes the SFTP server read-only: every write is "permission denied"."""
    directory.mkdir(parents=True, exist_ok=True)
    _keygen(directory / "ssh_host_ed25519_key")
    _keygen(directory / "id_ed25519")
    shutil.copy(directory / "id_ed25519.pub", directory / "authorized_keys")
    port = _free_port()
    user = getpass.getuser()
    host_key = (directory / "ssh_host_ed25519_key.pub").read_text().split()
    (directory / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key[0]} {host_key[1]}\n")
    (directory / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\n"
        f"HostKey {directory / 'ssh_host_ed25519_key'}\n"
        f"PidFile {directory / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {directory / 'authorized_keys'}\n"
        "StrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "PubkeyAuthentication yes\nUsePAM no\nPermitRootLogin prohibit-password\n"
        f"Subsystem sftp internal-sftp {sftp_flags}\nLogLevel ERROR\n"
    )
    (directory / "ssh_config").write_text(
        f"Host {HOST_ALIAS}\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n"
        f"  IdentityFile {directory / 'id_ed25519'}\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {directory / 'known_hosts'}\n"
        "  StrictHostKeyChecking yes\n  BatchMode yes\n"
    )
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation directory
    log = (directory / "sshd.log").open("wb")
    process = subprocess.Popen(
        [str(SSHD), "-D", "-e", "-f", str(directory / "sshd_config")],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    _wait_for_port(port, process, directory / "sshd.log")
    return SshServer(directory, port, user, process)


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "tfbridge-test", "-f", str(path)],
        check=True,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited: {log.read_text()}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"sshd did not listen on port {port}: {log.read_text()}")
