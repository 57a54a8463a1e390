"""The provision stage in real deployments (CLI, agent, processes): resources are applied
before the release, a service's `${resources.NAME.ATTR}` reaches its running process, and a
later failing stage rolls back only what this run created."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

import pytest

from .project import open_store, shipway

SERVICE = """\
import http.server, json, os, sys

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"db": os.environ.get("DB_URL")}).encode()
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
project: prov
environments:
  dev:
    target: local
resources:
{resources}
services:
  web:
    run: {run}
    workdir: app
    port: {port}
    health: {{http: /, interval: 1s, healthy_after: 1, start_timeout: 5s}}
    env:
      DB_URL: ${{resources.db.url}}
"""
PRE = "  pre:\n    type: local.directory\n    path: data/pre\n"
REST = (
    "  fresh:\n    type: local.directory\n    path: data/fresh\n"
    "  db:\n    type: local.sqlite\n    path: data/app.db\n    depends_on: [fresh]\n"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _project(root: Path, resources: str, run: str, port: int) -> None:
    (root / "app").mkdir(parents=True, exist_ok=True)
    (root / "app" / "svc.py").write_text(SERVICE)
    (root / "shipway.yaml").write_text(
        MANIFEST.format(resources=resources, run=run, port=port), encoding="utf-8"
    )


@pytest.mark.slow
def test_a_deployment_provisions_and_the_service_gets_the_resource_url(tmp_path: Path) -> None:
    port = _free_port()
    _project(tmp_path, PRE + REST, "python svc.py ${port}", port)
    try:
        deployed = shipway("deploy", "-e", "dev", cwd=tmp_path, timeout=240)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
            seen = json.loads(answer.read())
        assert seen["db"] == f"sqlite:///{tmp_path.resolve()}/data/app.db"
        assert (tmp_path / "data" / "app.db").is_file()
        with open_store(tmp_path) as store:
            records = {r.name: r for r in store.resources.list("prov", "dev")}
            [deployment] = store.deployments.list("prov", "dev")
            events = [
                e
                for e in store.events.read(0, deployment_id=deployment.id)
                if e.type == "RESOURCE_PROVISIONED"
            ]
        assert set(records) == {"pre", "fresh", "db"}
        assert {r.created_by for r in records.values()} == {deployment.id}
        assert len(events) == 1
        outputs = events[0].data["outputs"]
        assert set(outputs["resources"]) == {"pre", "fresh", "db"}
        assert sorted(outputs["created"]) == ["db", "fresh", "pre"]
    finally:
        shipway("agent", "stop", cwd=tmp_path, timeout=60)


@pytest.mark.slow
def test_a_failed_release_removes_only_what_the_run_created(tmp_path: Path) -> None:
    port = _free_port()
    _project(tmp_path, PRE, "python svc.py ${port}", port)
    applied = shipway("provision", "apply", "-e", "dev", "--yes", cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    _project(tmp_path, PRE + REST, 'python -c "import sys; sys.exit(3)"', port)
    try:
        failed = shipway("deploy", "-e", "dev", cwd=tmp_path, timeout=240)
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert (tmp_path / "data" / "pre").is_dir()  # existed before the run: kept
        assert not (tmp_path / "data" / "fresh").exists()
        assert not (tmp_path / "data" / "app.db").exists()
        with open_store(tmp_path) as store:
            assert [r.name for r in store.resources.list("prov", "dev")] == ["pre"]
    finally:
        shipway("agent", "stop", cwd=tmp_path, timeout=60)
