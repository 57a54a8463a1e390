"""Real things for the validator's tests: manifests on disk, listening and silent sockets,
HTTP(S) servers with certificates made here, and the `shipway` command.

The sshd of the remote tests lives in `sshd.py`.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import http.server
import ipaddress
import os
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shipway.manifest import load_manifest, resolve_environment
from shipway.validator import CheckResult, Host, ValidationReport, validate

HEAD = """\
version: 1
project: demo
environments:
{environments}
"""


def write_manifest(folder: Path, body: str, *, environments: str = "  dev: {}") -> Path:
    """A manifest in `folder` with `body` (the `requirements:` and other sections)."""
    path = folder / "shipway.yaml"
    path.write_text(HEAD.format(environments=environments) + body, encoding="utf-8")
    return path


def run_validation(
    path: Path,
    env: str = "dev",
    *,
    own_pids: frozenset[int] = frozenset(),
    hosts: list[Host] | None = None,
) -> ValidationReport:
    loaded = load_manifest(path)
    environment = resolve_environment(loaded, env)
    home = path.parent / ".shipway"
    return asyncio.run(validate(loaded, environment, home=home, own_pids=own_pids, hosts=hosts))


def validate_body(folder: Path, body: str) -> ValidationReport:
    return run_validation(write_manifest(folder, body))


def only(report: ValidationReport, check: str | None = None) -> CheckResult:
    """The one result (of `check`, when given) in `report`."""
    found = [r for r in report.results if check is None or r.check == check]
    assert len(found) == 1, [r.check for r in report.results]
    return found[0]


def shipway(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """The real command, in a child process, with a plain environment."""
    base = {"COLUMNS": "250", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    base["HOME"] = os.environ.get("HOME", str(cwd))
    return subprocess.run(
        [sys.executable, "-m", "shipway", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**base, **(env or {})},
        timeout=timeout,
    )


# --- sockets ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def listening() -> Iterator[int]:
    """A real listening socket held by this process; yields its port."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    try:
        yield int(server.getsockname()[1])
    finally:
        server.close()


@contextmanager
def held_by_child() -> Iterator[tuple[int, int]]:
    """A port held by another real process; yields (port, pid)."""
    code = (
        "import socket, sys, time\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(8)\n"
        "print(s.getsockname()[1], flush=True); time.sleep(120)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        yield int(child.stdout.readline()), child.pid
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()


@contextmanager
def silent_port() -> Iterator[int]:
    """A port whose SYNs go unanswered: a listener whose accept queue is full, so a new
    connection neither succeeds nor is refused (what a firewall that drops looks like)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    address = server.getsockname()
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(address)
        fillers.append(filler)
    try:
        yield int(address[1])
    finally:
        for filler in fillers:
            filler.close()
        server.close()


# --- certificates and servers --------------------------------------------------------------


@dataclass(frozen=True)
class Cert:
    cert: Path
    key: Path
    not_after: datetime.datetime


def make_cert(
    folder: Path, *, valid_for: datetime.timedelta, name: str = "cert", started_ago: float = 1
) -> Cert:
    """A self-signed certificate for 127.0.0.1 / localhost, valid from `started_ago` days
    ago for `valid_for` from now."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    not_after = now + valid_for
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=started_ago))
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = folder / f"{name}.pem"
    key_path = folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Cert(cert_path, key_path, cert.not_valid_after_utc)


USER, PASSWORD = "ops", "canary-pw-8e1f"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        routes = {"/health": (200, b'{"status": "healthy"}'), "/teapot": (418, b"short and stout")}
        status, body = routes.get(self.path, (404, b"not found"))
        if self.path == "/private":
            token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            authorized = self.headers.get("Authorization") == f"Basic {token}"
            status, body = (200, b"welcome") if authorized else (401, b"who are you")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, context: ssl.SSLContext | None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.context = context

    def finish_request(self, request: socket.socket, client_address: object) -> None:
        if self.context is None:
            super().finish_request(request, client_address)
            return
        # The TLS handshake runs in the request's thread, so a refused probe stalls nothing.
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except OSError:
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            tls.close()

    def handle_error(self, request: object, client_address: object) -> None:
        pass


@contextmanager
def web_server(cert: Cert | None = None, *, minimum: ssl.TLSVersion | None = None) -> Iterator[int]:
    """A real HTTP server on 127.0.0.1 (HTTPS with `cert`); yields its port."""
    context = None
    if cert is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert.cert, cert.key)
        if minimum is not None:
            context.minimum_version = minimum
    server = _Server(context)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
