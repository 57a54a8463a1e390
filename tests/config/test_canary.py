"""A canary secret set through each backend (local, env, file, aws) goes through a real
deployment (the agent runs the configure stage), is delivered to a running service the
way the runtime delivers it, and appears nowhere else: not in the state database, the
event log, the agent's logs, rendered output, the CLI's reports, the release values or the
service's own log."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from shipway.config import resolve_for_release, reveal_environment
from shipway.config.secrets.keys import new_master_key
from shipway.runtime.interpolation import render
from shipway.store import Store

from .conftest import free_port, shipway, stage_context

CANARY = "CANARY-" + hashlib.sha256(b"shipway config canary").hexdigest()[:24]

MANIFEST = """\
version: 1
project: canary
environments:
  local:
    target: local
  envb:
    target: local
    config:
      secrets: {{backend: env}}
  fileb:
    target: local
    config:
      secrets: {{backend: file, settings: {{path: mounted-secrets}}}}
  awsb:
    target: local
    config:
      secrets: {{backend: aws, settings: {{endpoint_url: "{moto}", recovery_days: 0}}}}
config:
  layers: [config/base.yaml]
"""
BASE = """\
service_name: canary
db:
  password: ${secret:db_password}
  url: postgres://app:${secret:db_password}@db.internal/notes
"""
SERVICE = """\
import hashlib, http.server, os, sys
digest = hashlib.sha256(os.environ["DATABASE_URL"].encode()).hexdigest()
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = digest.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        print("request", self.path, flush=True)
print("service up on", sys.argv[1], flush=True)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def _get(url: str, deadline: float) -> str:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return str(answer.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.mark.slow
def test_a_canary_secret_reaches_the_service_and_nothing_else(
    tmp_path: Path, moto_url: str, aws_env: dict[str, str], cli: Any
) -> None:
    project = tmp_path / "project"
    (project / "config").mkdir(parents=True)
    (project / "shipway.yaml").write_text(MANIFEST.format(moto=moto_url))
    (project / "config" / "base.yaml").write_text(BASE)
    env = {
        **aws_env,
        "SHIPWAY_MASTER_KEY": new_master_key(),
        "DB_PASSWORD": CANARY,  # the env backend reads the agent's environment
    }
    outputs: list[str] = []

    def run(*args: str, stdin: str | None = None) -> Any:
        done = cli(*args, cwd=project, input=stdin, env=env)
        outputs.extend([done.stdout, done.stderr])
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    environments = ("local", "envb", "fileb", "awsb")
    for name in ("local", "fileb", "awsb"):
        run("secrets", "set", "-e", name, "db_password", stdin=CANARY + "\n")
    service_file = tmp_path / "service.py"
    service_file.write_text(SERVICE)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        # The agent (which runs the stages) starts from a child process, with this
        # environment: the env backend reads DB_PASSWORD from it.
        agent = shipway("agent", "start", cwd=project, env=env)
        assert agent.returncode == 0, agent.stderr
        deployments = {}
        for name in environments:
            deployed = json.loads(run("deploy", "-e", name, "--output", "json").stdout)
            assert deployed["status"] == "succeeded", deployed
            deployments[name] = deployed["deployment_id"]
            configure = next(s for s in deployed["stages"] if s["stage"] == "configure")
            assert configure["status"] == "succeeded", configure
        for name, deployment_id in deployments.items():
            run("events", deployment_id, "--output", "json")
            run("status", deployment_id, "--output", "json")
            run("config", "render", "-e", name)
            run("config", "render", "-e", name, "--explain", "db", "--output", "json")
            run("config", "get", "-e", name, "--output", "json")
            run("config", "history", "-e", name)
            run("secrets", "list", "-e", name)
            run("secrets", "get", "-e", name, "db_password")

        store = Store.open(f"sqlite:///{project / '.shipway' / 'state.db'}")
        try:
            release_values = []
            for name, deployment_id in deployments.items():
                runs = {r.stage: r for r in store.stage_runs.list(deployment_id)}
                state = runs["configure"].outputs
                ctx = stage_context(
                    project / "shipway.yaml",
                    name,
                    deployment_id=deployment_id,
                    states={"configure": state},
                )
                # What the runtime does for a release: render the service's environment
                # (stored with the release: references only), then reveal the secrets
                # in the environment of the process it starts, and nowhere else.
                values = resolve_for_release(ctx, store)
                release_values.append(json.dumps(values))
                release_env = {"DATABASE_URL": render("${config.db.url}", values, "env")}
                assert release_env["DATABASE_URL"] == (
                    "postgres://app:${secret:db_password}@db.internal/notes"
                )
                source = {**state["secret_source"]}
                with pytest.MonkeyPatch.context() as patch:
                    for key, value in env.items():
                        patch.setenv(key, value)
                    process_env = reveal_environment(release_env, source)
                port = free_port()
                log = tmp_path / f"service-{name}.log"
                with log.open("wb") as out:
                    processes.append(
                        subprocess.Popen(
                            [sys.executable, str(service_file), str(port)],
                            env={**process_env, "PATH": os.environ["PATH"]},
                            stdout=out,
                            stderr=out,
                        )
                    )
                served = _get(f"http://127.0.0.1:{port}/", time.monotonic() + 15)
                expected = f"postgres://app:{CANARY}@db.internal/notes"
                assert served == hashlib.sha256(expected.encode()).hexdigest(), name
        finally:
            store.close()
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
        cli("agent", "stop", cwd=project, env=env)

    # The grep: every byte shipway wrote, every output it printed.
    needle = CANARY.encode()
    leaks = []
    for path in sorted(tmp_path.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        if path.parent.name == "mounted-secrets":
            continue  # the file backend's own folder: where the user put the secret
        if needle in path.read_bytes():
            leaks.append(str(path.relative_to(tmp_path)))
    assert leaks == []
    assert [o for o in [*outputs, *release_values] if CANARY in o] == []
    # The ones that should hold it, do (the grep would have found it).
    assert needle in (project / "mounted-secrets" / "db_password").read_bytes()
    assert (project / ".shipway" / "state.db").stat().st_size > 0
    assert any((project / ".shipway" / "logs").rglob("*"))


RELEASED = """\
version: 1
project: released
environments:
  dev: {{target: local}}
config:
  layers: [config/base.yaml]
services:
  api:
    run: python service.py ${{port}}
    workdir: app
    port: {port}
    health: {{http: /, interval: 0.2s, healthy_after: 1}}
    env:
      DATABASE_URL: ${{config.db.url}}
"""


@pytest.mark.slow
def test_the_release_stage_hands_the_secret_to_the_process_only(tmp_path: Path, cli: Any) -> None:
    """Through the real release stage: the value reaches the process's environment and
    nothing the runtime keeps (release record, pid files, logs)."""
    project = tmp_path / "project"
    (project / "config").mkdir(parents=True)
    (project / "app").mkdir()
    (project / "app" / "service.py").write_text(SERVICE)
    port = free_port()
    (project / "shipway.yaml").write_text(RELEASED.format(port=port))
    (project / "config" / "base.yaml").write_text(BASE)
    env = {"SHIPWAY_MASTER_KEY": new_master_key()}
    done = cli("secrets", "set", "-e", "dev", "db_password", cwd=project, input=CANARY, env=env)
    assert done.returncode == 0, done.stderr
    try:
        assert shipway("agent", "start", cwd=project, env=env).returncode == 0
        deployed = cli("deploy", "-e", "dev", "--output", "json", cwd=project, env=env)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        expected = f"postgres://app:{CANARY}@db.internal/notes"
        served = _get(f"http://127.0.0.1:{port}/", time.monotonic() + 10)
        assert served == hashlib.sha256(expected.encode()).hexdigest()
        store = Store.open(f"sqlite:///{project / '.shipway' / 'state.db'}")
        try:
            [release] = store.releases.list("released", "dev")
            assert release.config_version is not None
            assert "${secret:db_password}" in json.dumps(release.services)
        finally:
            store.close()
    finally:
        shipway("agent", "stop", cwd=project, env=env)
    leaked = [
        str(path)
        for path in (project / ".shipway").rglob("*")
        if path.is_file() and CANARY.encode() in path.read_bytes()
    ]
    assert leaked == []
    assert CANARY not in deployed.stdout + deployed.stderr
