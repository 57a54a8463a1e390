"""The release health probes against real sockets and processes: HTTP path, TCP connect
and a command, each passing and failing with what it saw."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipway.runtime.health import Probe

from .deployed import free_port


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        ok = self.path == "/ok"
        body = b"fine" if ok else b"database down"
        self.send_response(200 if ok else 503)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[int]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield int(httpd.server_address[1])
    httpd.shutdown()
    httpd.server_close()


def _probe(port: int | None, http: str | None = None, command: str | None = None) -> Probe:
    return Probe(host="127.0.0.1", port=port, http=http, command=command, timeout=2.0)


def test_http_passes_on_2xx_and_reports_the_answer_otherwise(server: int) -> None:
    passed = _probe(server, http="/ok").run(".", {})
    assert passed.ok
    # A passing answer's body is not recorded: it ends up in events.
    assert passed.output == "GET /ok: HTTP 200"
    failed = _probe(server, http="/health").run(".", {})
    assert not failed.ok
    assert failed.output == "GET /health: HTTP 503 database down"
    refused = _probe(free_port(), http="/ok").run(".", {})
    assert not refused.ok and "connection refused" in refused.output


def test_tcp_passes_when_the_port_accepts(server: int) -> None:
    assert _probe(server).run(".", {}).output == f"TCP 127.0.0.1:{server}: accepted"
    with socket.socket() as bound:  # bound but not listening: refused
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        result = _probe(port).run(".", {})
    assert not result.ok and "connection refused" in result.output


def test_command_passes_on_exit_0_in_the_release_folder(tmp_path: Path) -> None:
    (tmp_path / "ready").write_text("")
    env = {"PATH": "/usr/bin:/bin", "WANTED": "ready"}
    assert _probe(None, command='test -f "$WANTED"').run(str(tmp_path), env).ok
    failed = _probe(None, command="echo not yet >&2; exit 4").run(str(tmp_path), env)
    assert not failed.ok
    assert failed.output == "`echo not yet >&2; exit 4` exited 4: not yet"
    slow = Probe("127.0.0.1", None, None, "sleep 5", timeout=0.3).run(str(tmp_path), env)
    assert not slow.ok and "timed out after 0.3s" in slow.output
