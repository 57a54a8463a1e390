"""A generated credential end to end: stored in the secret backend, carried as a
`${secret:resources/NAME/KEY}` reference by the state store, the event log and the
release, revealed only in the environment of the service process; `provision rotate`
replaces it and the next deployment's process gets the new value."""

from __future__ import annotations

import json
import shutil
import socket
import urllib.request
from pathlib import Path

import pytest

from shipway.config.secrets.keys import new_master_key

from .project import shipway

SERVICE = """\
import http.server, json, os, sys

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        token = os.environ.get("API_TOKEN") if self.path == "/token" else None
        body = json.dumps({"token": token}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""

MANIFEST = """\
version: 1
project: cred
environments:
  dev:
    target: local
pipeline:
  plugins: [token_plugin.py]
resources:
  api:
    type: test.token
services:
  web:
    run: python svc.py ${{port}}
    workdir: app
    port: {port}
    health: {{http: /health, interval: 1s, healthy_after: 1}}
    env:
      API_TOKEN: ${{resources.api.token}}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _token(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/token", timeout=5) as answer:
        return str(json.loads(answer.read())["token"])


def _everything_stored(root: Path) -> bytes:
    """Every byte shipway keeps under .shipway/ (state store with its event log, releases,
    logs) except the encrypted vault."""
    out = b""
    for path in (root / ".shipway").rglob("*"):
        if path.is_file() and "secrets" not in path.parts:
            out += path.read_bytes()
    return out


@pytest.mark.slow
def test_a_generated_credential_reaches_the_process_and_nothing_else(tmp_path: Path) -> None:
    port = _free_port()
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "svc.py").write_text(SERVICE)
    shutil.copy(Path(__file__).with_name("token_plugin.py"), tmp_path / "token_plugin.py")
    (tmp_path / "shipway.yaml").write_text(MANIFEST.format(port=port))
    env = {"SHIPWAY_MASTER_KEY": new_master_key()}
    try:
        deployed = shipway("deploy", "-e", "dev", cwd=tmp_path, env=env, timeout=240)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        token = _token(port)
        assert token.startswith("canary-")
        shown = shipway("provision", "plan", "-e", "dev", cwd=tmp_path, env=env)
        assert "No changes." in shown.stdout, shown.stdout + shown.stderr
        for text in (deployed.stdout, deployed.stderr, shown.stdout):
            assert token not in text
        assert token.encode() not in _everything_stored(tmp_path)
        assert b"${secret:resources/api/token}" in _everything_stored(tmp_path)
        rotated = shipway("provision", "rotate", "-e", "dev", "api", cwd=tmp_path, env=env)
        assert rotated.returncode == 0, rotated.stderr
        assert 'token: "${secret:resources/api/token}"' in rotated.stdout
        again = shipway("deploy", "-e", "dev", cwd=tmp_path, env=env, timeout=240)
        assert again.returncode == 0, again.stdout + again.stderr
        new = _token(port)
        assert new.startswith("canary-") and new != token
        assert new.encode() not in _everything_stored(tmp_path)
    finally:
        shipway("agent", "stop", cwd=tmp_path, env=env, timeout=60)
