"""A throwaway OpenSSH server on 127.0.0.1 for the remote tests (Debian `openssh-server`).

Everything it needs lives in one folder: its config, host key, the client's key, the
authorized_keys and known_hosts files, and an OpenSSH client config (`ssh_config`) that
points a client at them.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncssh

SSHD = "/usr/sbin/sshd"
START_DEADLINE = 10.0


@dataclass(frozen=True)
class Sshd:
    port: int
    user: str
    folder: Path

    @property
    def url(self) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}"

    @property
    def client_config(self) -> Path:
        return self.folder / "ssh_config"


def unavailable() -> str | None:
    """Why no sshd can be started here, or None."""
    if not Path(SSHD).exists() and shutil.which("sshd") is None:
        return "sshd is not installed (apt-get install -y openssh-server)"
    try:
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # its privilege-separation dir
    except OSError as e:
        return f"cannot create /run/sshd for sshd: {e.strerror}"
    return None


def _key(path: Path, key: asyncssh.SSHKey) -> None:
    path.write_bytes(key.export_private_key())
    path.chmod(0o600)


@contextmanager
def running_sshd(folder: Path) -> Iterator[Sshd]:
    folder.mkdir(parents=True, exist_ok=True)
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    _key(folder / "host_key", host_key)
    _key(folder / "client_key", client_key)
    (folder / "authorized_keys").write_bytes(client_key.export_public_key())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    (folder / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host_key'}\n"
        f"PidFile {folder / 'sshd.pid'}\nAuthorizedKeysFile {folder / 'authorized_keys'}\n"
        "StrictModes no\nUsePAM no\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
        "AllowTcpForwarding yes\nLogLevel ERROR\n"
    )
    (folder / "known_hosts").write_bytes(
        f"[127.0.0.1]:{port} ".encode() + host_key.export_public_key()
    )
    (folder / "ssh_config").write_text(
        f"Host 127.0.0.1\n  IdentityFile {folder / 'client_key'}\n"
        f"  UserKnownHostsFile {folder / 'known_hosts'}\n"
    )
    log = (folder / "sshd.log").open("w")
    process = subprocess.Popen(
        [SSHD if Path(SSHD).exists() else "sshd", "-D", "-e", "-f", str(folder / "sshd_config")],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_listening(port, process, folder)
        yield Sshd(port, getpass.getuser(), folder)
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def _wait_listening(port: int, process: subprocess.Popen[bytes], folder: Path) -> None:
    deadline = time.monotonic() + START_DEADLINE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited: {(folder / 'sshd.log').read_text()[-500:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                if conn.recv(4).startswith(b"SSH-"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("sshd did not start listening in time")


def home_with_ssh_config(sshd: Sshd, home: Path) -> Path:
    """A HOME whose ~/.ssh/config is the server's client config (what a user would have)."""
    ssh = home / ".ssh"
    ssh.mkdir(parents=True, exist_ok=True)
    ssh.chmod(0o700)
    shutil.copy(sshd.client_config, ssh / "config")
    os.chmod(ssh / "config", 0o600)
    return home
