"""Real servers for the runtime scanner's tests: certificates made with `cryptography`
(a CA and leaves signed by it, or self-signed ones), an HTTP(S) server on a free port of
127.0.0.1 that answers with chosen headers and TLS versions, and a process tree that
listens on chosen ports."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import ssl
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NOW = datetime.datetime.now(datetime.UTC)

GOOD_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Server": "notes",
}


@dataclass(frozen=True)
class Issued:
    cert: Path
    key: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def certificate(
    folder: Path,
    label: str,
    *,
    names: tuple[str, ...] = ("localhost", "127.0.0.1"),
    not_after: datetime.datetime | None = None,
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None = None,
) -> Issued:
    """A leaf certificate for `names` (DNS names and IP addresses), signed by `ca` or by
    itself, written as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for name in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    issuer_name, signer = (ca[0].subject, ca[1]) if ca else (_name(names[0]), key)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=400))
        .not_valid_after(not_after or NOW + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .sign(signer, hashes.SHA256())
    )
    paths = Issued(folder / f"{label}.crt", folder / f"{label}.key")
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def authority() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("shipway test CA"))
        .issuer_name(_name("shipway test CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key


@contextmanager
def web_server(
    headers: Mapping[str, str],
    issued: Issued | None = None,
    *,
    legacy_tls: bool = False,
) -> Iterator[str]:
    """An HTTP server (HTTPS with `issued`) on a free port; yields its URL as the runtime
    scanner is given it (always `http://`: the scanner finds TLS by itself)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"ok\n"
            self.send_response(200)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def version_string(self) -> str:
            return headers.get("Server", "")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if issued is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(issued.cert, issued.key)
        if legacy_tls:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                context.minimum_version = ssl.TLSVersion.TLSv1
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


LISTENER = """
import socket, subprocess, sys, time
ports = [int(p) for p in sys.argv[1:]]
sockets = []
for port in ports[:1]:
    s = socket.socket(); s.bind(("127.0.0.1", port)); s.listen(); sockets.append(s)
child = None
if len(ports) > 1:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, *map(str, ports[1:])], stdout=subprocess.PIPE, text=True
    )
    child.stdout.readline()  # bound
print("ready", flush=True)
time.sleep(120)
"""
CHILD = """
import socket, sys, time
sockets = []
for port in sys.argv[1:]:
    s = socket.socket(); s.bind(("127.0.0.1", int(port))); s.listen(); sockets.append(s)
print("ready", flush=True)
time.sleep(120)
"""


@contextmanager
def listening_tree(parent_port: int, *child_ports: int) -> Iterator[subprocess.Popen[str]]:
    """A process listening on `parent_port`, with a child listening on `child_ports`."""
    code = LISTENER.replace("CHILD", repr(CHILD))
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(parent_port), *map(str, child_ports)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        yield process
    finally:
        import psutil

        with_children = [process.pid] + [
            c.pid for c in psutil.Process(process.pid).children(recursive=True)
        ]
        for pid in reversed(with_children):
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()
