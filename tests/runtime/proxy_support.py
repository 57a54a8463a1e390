"""Real backends and clients for the switching proxy's tests: threaded servers on loopback port 0.

`NameServer` is an HTTP/1.1 server (keep-alive) that answers every request with its own
name; `StreamServer` is a raw TCP server that either echoes (for bulk transfers in both
directions) or reads to end of stream and then answers with a digest (for half-close).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEADLINE = 10.0  # no test waits longer than this for anything


def has_ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def wait_until(predicate: Callable[[], bool], timeout: float = DEADLINE) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


class _NameHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = DEADLINE  # an idle keep-alive connection ends by itself

    def do_GET(self) -> None:
        body = self.server.name.encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _QuietServerMixin:
    def handle_error(self, request: object, client_address: object) -> None:
        # Connections the proxy force-closes end in resets: expected, not test output.
        pass


class _HTTPServer(_QuietServerMixin, ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # the default 5 drops SYNs when 200 connections arrive at once


class _HTTPServer6(_HTTPServer):
    address_family = socket.AF_INET6


class NameServer:
    """An HTTP server on `host`, port 0, answering every GET with `name`."""

    def __init__(self, name: str, host: str = "127.0.0.1") -> None:
        cls = _HTTPServer6 if ":" in host else _HTTPServer
        self.server = cls((host, 0), _NameHandler)
        self.server.name = name  # type: ignore[attr-defined]
        self.name = name
        self.address: tuple[str, int] = (host, self.server.server_address[1])
        self._thread = threading.Thread(
            target=self.server.serve_forever, args=(0.05,), name=f"backend-{name}", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(DEADLINE)


class _StreamHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(DEADLINE)
        mode = self.server.mode  # type: ignore[attr-defined]
        if mode == "echo":
            while chunk := sock.recv(1 << 20):
                sock.sendall(chunk)
            sock.shutdown(socket.SHUT_WR)
            return
        if mode == "source":
            for _ in range(SOURCE_CHUNKS):
                sock.sendall(SOURCE_CHUNK)
                self.server.sent += len(SOURCE_CHUNK)  # type: ignore[attr-defined]
            return
        digest = hashlib.sha256()
        received = 0
        while chunk := sock.recv(1 << 20):
            digest.update(chunk)
            received += len(chunk)
        # Only reached once the client's half-close came through the proxy.
        sock.sendall(f"{received} {digest.hexdigest()}\n".encode())
        sock.sendall(TAIL)


TAIL = bytes(range(256)) * 4096  # 1 MiB sent after the digest
SOURCE_CHUNK = b"s" * (1 << 20)
SOURCE_CHUNKS = 64


class _TCPServer(_QuietServerMixin, socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512


class StreamServer:
    """A raw TCP server: `echo` sends back what it reads; `digest` reads to end of stream,
    then answers `<bytes> <sha256>\\n` followed by TAIL, and closes; `source` sends
    SOURCE_CHUNKS chunks of SOURCE_CHUNK as fast as it may, counting them in `sent`."""

    def __init__(self, mode: str) -> None:
        self.server = _TCPServer(("127.0.0.1", 0), _StreamHandler)
        self.server.mode = mode  # type: ignore[attr-defined]
        self.server.sent = 0  # type: ignore[attr-defined]
        self.address: tuple[str, int] = ("127.0.0.1", self.server.server_address[1])
        self._thread = threading.Thread(
            target=self.server.serve_forever, args=(0.05,), name=f"backend-{mode}", daemon=True
        )
        self._thread.start()

    @property
    def sent(self) -> int:
        return int(self.server.sent)  # type: ignore[attr-defined]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(DEADLINE)


def get(address: tuple[str, int]) -> str:
    """One GET on a fresh connection; the body."""
    conn = http.client.HTTPConnection(address[0], address[1], timeout=DEADLINE)
    try:
        conn.request("GET", "/")
        return conn.getresponse().read().decode()
    finally:
        conn.close()


def ask(conn: http.client.HTTPConnection) -> str:
    """One GET on a kept-alive connection; the body."""
    conn.request("GET", "/")
    return conn.getresponse().read().decode()


def send_request(sock: socket.socket) -> None:
    sock.sendall(b"GET / HTTP/1.1\r\nHost: proxy-test\r\n\r\n")


def read_response(sock: socket.socket) -> str:
    """Read one HTTP response with a Content-Length from a raw socket; the body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f"connection ended mid-response: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("connection ended mid-body")
        body += chunk
    return body.decode()


def assert_closed(sock: socket.socket, timeout: float = 2.0) -> None:
    """The proxy ended this connection: end of stream or reset, within `timeout`."""
    sock.settimeout(timeout)
    try:
        data = sock.recv(4096)
    except ConnectionResetError:
        return
    assert data == b"", f"expected the connection to end, got {data!r}"


def free_port() -> int:
    """A loopback port nothing listens on (for a dead backend)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def keepalive(address: tuple[str, int]) -> Iterator[http.client.HTTPConnection]:
    conn = http.client.HTTPConnection(address[0], address[1], timeout=DEADLINE)
    try:
        yield conn
    finally:
        conn.close()
