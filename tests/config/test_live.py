"""Delivery to a running service: the configure stage writes each service's config file
before the release starts it, and `shipway config apply --live` reaches the running
process without a restart (same pid), as `config.reload` says."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from .conftest import free_port, shipway

SERVICE = """\
import http.server, json, os, signal, sys

def load():
    with open(os.environ["APP_CONFIG"]) as stream:
        return json.load(stream)["values"]

config = load()

def reload(*_):
    global config
    config = load()

signal.signal(signal.SIGHUP, reload)

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"greeting": config["greeting"], "pid": os.getpid()}).encode()
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
project: live
environments:
  dev:
    target: local
config:
  layers: [config/base.yaml]
  reload:
    web: {{signal: HUP}}
services:
  web:
    run: python svc.py ${{port}}
    workdir: app
    port: {port}
    health: {{http: /, interval: 1s, healthy_after: 1}}
    env:
      APP_CONFIG: ${{data_dir}}/shipway-config.json
"""


def _get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as answer:
        data: dict[str, Any] = json.loads(answer.read())
    return data


@pytest.mark.slow
def test_a_live_update_reaches_the_running_service_without_a_restart(
    tmp_path: Path, cli: Any
) -> None:
    port = free_port()
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "svc.py").write_text(SERVICE)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "base.yaml").write_text("greeting: hello\n")
    (tmp_path / "shipway.yaml").write_text(MANIFEST.format(port=port))
    url = f"http://127.0.0.1:{port}/"
    try:
        deployed = shipway("deploy", "-e", "dev", "--output", "json", cwd=tmp_path)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        before = _get(url)
        assert before["greeting"] == "hello"
        (tmp_path / "config" / "base.yaml").write_text("greeting: bonjour\n")
        applied = cli("config", "apply", "-e", "dev", "--live", "-o", "json", cwd=tmp_path)
        assert applied.returncode == 0, applied.stdout + applied.stderr
        result = json.loads(applied.stdout)
        assert result["reloads"][0]["how"] == "SIGHUP" and result["reloads"][0]["ok"]
        deadline = time.monotonic() + 10
        after = _get(url)
        while after["greeting"] != "bonjour" and time.monotonic() < deadline:
            time.sleep(0.1)
            after = _get(url)
        assert after == {"greeting": "bonjour", "pid": before["pid"]}
        assert result["reloads"][0]["pid"] == before["pid"]
        history = cli("config", "history", "-e", "dev", "-o", "json", cwd=tmp_path)
        actions = [entry["action"] for entry in json.loads(history.stdout)]
        assert actions == ["live", "deploy"]
        refused = cli("config", "apply", "-e", "dev", cwd=tmp_path)
        assert refused.returncode == 2 and "--live pushes it" in refused.stderr
    finally:
        shipway("agent", "stop", cwd=tmp_path, timeout=60)
