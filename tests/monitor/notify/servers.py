"""Real local servers that notifications go to in tests: an HTTP server that records
every POST (and can fail the first ones), and an SMTP server (aiosmtpd) that records
every message and can require a login."""

from __future__ import annotations

import email
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any
    at: float


@dataclass
class RecordingHttpServer:
    """Answers POSTs with 200 (or `fail_status` for the first `fail_first` ones)."""

    fail_first: int = 0
    fail_status: int = 503
    #: Failures echo the request's Authorization header (as careless servers do).
    echo: bool = False
    received: list[Received] = field(default_factory=list)
    requests: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                owner.requests += 1
                if owner.requests <= owner.fail_first:
                    self.send_response(owner.fail_status)
                    self.end_headers()
                    echoed = self.headers.get("Authorization", "") if owner.echo else ""
                    self.wfile.write(f"try later {echoed}".strip().encode())
                    return
                owner.received.append(
                    Received(self.path, dict(self.headers.items()), json.loads(raw), time.time())
                )
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(list(self.received)):
                return
            time.sleep(0.05)
        raise AssertionError(
            f"timed out after {timeout}s; received: {[r.body for r in self.received]}"
        )


@contextmanager
def http_server(
    fail_first: int = 0, fail_status: int = 503, echo: bool = False
) -> Iterator[RecordingHttpServer]:
    server = RecordingHttpServer(fail_first=fail_first, fail_status=fail_status, echo=echo)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: Message


class _MailHandler:
    def __init__(self) -> None:
        self.mails: list[Mail] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.endswith("@refused.example"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append(
            Mail(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                email.message_from_bytes(envelope.content),
            )
        )
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    handler: _MailHandler
    port: int
    logins: list[tuple[str, str]]

    @property
    def mails(self) -> list[Mail]:
        return self.handler.mails


@contextmanager
def smtp_server(login: tuple[str, str] | None = None) -> Iterator[SmtpServer]:
    """aiosmtpd on 127.0.0.1; with `login`, it offers AUTH without TLS (a client that
    logs in must use that login; requiring AUTH without TLS makes aiosmtpd warn)."""
    handler = _MailHandler()
    logins: list[tuple[str, str]] = []

    def authenticate(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword):
            pair = (data.login.decode(), data.password.decode())
            logins.append(pair)
            return AuthResult(success=pair == login)
        return AuthResult(success=False)

    port = free_port()
    options: dict[str, Any] = {}
    if login is not None:
        options = {"authenticator": authenticate, "auth_require_tls": False}
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield SmtpServer(handler, port, logins)
    finally:
        controller.stop()
