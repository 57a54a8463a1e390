"""The issue's must-have, through the real agent: a service deployed with `shipway deploy`
writes its output (rotated by the supervisor, copy + truncate) and an access log that it
rotates itself (rename + create, as logrotate does); `shipway logs` finds lines from the
rotated files, no line is lost or stored twice (across both rotations and an agent killed
and started again), and the planted secret the service prints is redacted: it is nowhere
in the state database."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import psutil
import pytest

from shipway.config.secrets.keys import new_master_key
from shipway.monitor.logs import count_lines
from shipway.runtime.supervisor import LOG_MAX_BYTES
from shipway.store import open_store

CANARY = "CANARY-e2e-91c4d7a0b3f8"
FLOOD = 100_000
LINE_BYTES = 128

MANIFEST = """\
version: 1
project: logship
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
      ACCESS_LOG: {access_log}
monitoring:
  logs:
    - service: api
    - file: {access_log}
      format: combined
"""
BASE = """\
db:
  url: postgresql://app:${secret:db_password}@db.internal/notes
"""
SERVICE = f"""\
import http.server, os, sys, time
sys.stdout.reconfigure(line_buffering=True)
url = os.environ["DATABASE_URL"]
password = url.split(":")[2].split("@")[0]
access = os.environ["ACCESS_LOG"]
out = open(access, "a", buffering=1)
print("INFO service up on", sys.argv[1])
print("connecting to", url)
print("ERROR login failed with password", password)
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global out
        if self.path == "/flood":
            pad = "x" * {LINE_BYTES - 20}
            sys.stdout.write("".join(f"flood {{n:07d}} {{pad}}\\n" for n in range({FLOOD})))
            sys.stdout.flush()
        if self.path == "/rotate":
            out.close()
            os.replace(access, access + ".1")
            out = open(access, "a", buffering=1)
        if self.path != "/":
            print("handled", self.path)
        stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
        out.write(f'127.0.0.1 - - [{{stamp}}] "GET {{self.path}} HTTP/1.1" 200 2 "-" "e2e"\\n')
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> None:
    with urllib.request.urlopen(url, timeout=30) as answer:
        assert answer.status == 200


def _zombie(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return True


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.mark.slow
def test_logs_from_rotated_files_are_found_and_the_secret_is_redacted(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "config").mkdir(parents=True)
    (project / "app").mkdir()
    (project / "app" / "service.py").write_text(SERVICE)
    (project / "config" / "base.yaml").write_text(BASE)
    port = _free_port()
    access_log = tmp_path / "access" / "access.log"
    access_log.parent.mkdir()
    (project / "shipway.yaml").write_text(MANIFEST.format(port=port, access_log=access_log))
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
    environ.update({"COLUMNS": "200", "SHIPWAY_MASTER_KEY": new_master_key()})
    outputs: list[str] = []

    def shipway(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "shipway", *args],
            capture_output=True,
            text=True,
            cwd=project,
            input=stdin,
            env=environ,
            timeout=180,
        )
        outputs.extend([done.stdout, done.stderr])
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    def logs(*args: str) -> list[dict[str, Any]]:
        done = shipway("logs", "-e", "dev", "--output", "json", "--limit", "100000", *args)
        return [json.loads(line) for line in done.stdout.splitlines()]

    shipway("secrets", "set", "-e", "dev", "db_password", stdin=CANARY)
    state = f"sqlite:///{project / '.shipway' / 'state.db'}"
    try:
        shipway("agent", "start")
        shipway("deploy", "-e", "dev", "--output", "json")
        _wait(lambda: logs("--grep", "login failed"), 60, "the service's first lines")

        # rename + create: two requests, the service renames its log, one more request
        base = f"http://127.0.0.1:{port}"
        _get(f"{base}/before-1")
        _get(f"{base}/before-2")
        _get(f"{base}/rotate")
        _get(f"{base}/after-1")
        assert (tmp_path / "access" / "access.log.1").exists()
        _wait(lambda: len(logs("--grep", "HTTP/1.1")) >= 4, 60, "the access log lines")

        # copy + truncate by the supervisor: more than LOG_MAX_BYTES of output at once
        assert FLOOD * LINE_BYTES > LOG_MAX_BYTES
        _get(f"{base}/flood")
        api_logs = project / ".shipway" / "logs" / "api"  # the supervisor's output files
        with open_store(state) as store:

            def flooded() -> int:
                return count_lines(
                    store, "logship", "dev", pattern=r"^flood \d+ ", since=0, until=2e9
                )

            try:
                _wait(lambda: flooded() >= FLOOD, 120, "the flood of output lines")
            except AssertionError:
                sizes = {p.name: p.stat().st_size for p in api_logs.iterdir()}
                raise AssertionError(f"{flooded()} flood lines stored; files {sizes}") from None
            _wait(
                lambda: any(p.name.endswith(".log.1") for p in api_logs.iterdir()),
                60,
                "the supervisor's rotation",
            )
            _get(f"{base}/after-flood")
            _wait(lambda: logs("--grep", "after-flood"), 60, "a line after the rotation")
            assert flooded() == FLOOD  # none stored twice

            # an agent restart: killed hard, lines written while none runs, a new one
            # resumes where the store says the old one stopped
            agent = json.loads((project / ".shipway" / "agent.json").read_text())["pid"]
            os.kill(agent, signal.SIGKILL)
            _wait(lambda: not psutil.pid_exists(agent) or _zombie(agent), 30, "the agent's end")
            # the proxy on the public port went with the agent: ask the service directly
            [pid_file] = (project / ".shipway" / "run").glob("*api.json")
            private = json.loads(pid_file.read_text())["spec"]["labels"]["private_port"]
            _get(f"http://127.0.0.1:{private}/while-down")
            shipway("agent", "start")
            _wait(lambda: logs("--grep", "handled /while-down"), 60, "lines written while down")
            assert flooded() == FLOOD
        assert len(logs("--grep", "login failed")) == 1
        assert len(logs("--grep", "handled /while-down")) == 1
        assert len(logs("--grep", "/while-down", "-s", "api")) == 1
        numbers = Counter(
            line["message"].split()[1] for line in logs("--grep", "flood 000000", "-s", "api")
        )
        assert len(numbers) == 10 and set(numbers.values()) == {1}
    finally:
        subprocess.run(
            [sys.executable, "-m", "shipway", "agent", "stop"],
            cwd=project,
            env=environ,
            capture_output=True,
            timeout=120,
        )

    # the access log: the two lines before the rename are in access.log.1 now
    access = [line for line in logs("--grep", "HTTP/1.1") if line["fields"]["path"] != "/"]
    paths = [line["fields"]["path"] for line in access]  # health checks left out
    assert paths == [
        "/before-1",
        "/before-2",
        "/rotate",
        "/after-1",
        "/flood",
        "/after-flood",
        "/while-down",
    ]
    assert b"/before-1" in (tmp_path / "access" / "access.log.1").read_bytes()
    found = logs("--search", "before AND GET")
    assert [line["fields"]["path"] for line in found] == ["/before-1", "/before-2"]
    assert all(line["source"] == str(access_log) and line["service"] is None for line in access)
    assert access[0]["level"] == "info" and access[0]["fields"]["agent"] == "e2e"

    # the planted secret: printed by the service, redacted before it was stored
    [failed] = logs("--grep", "login failed", "--level", "error")
    assert failed["message"] == "ERROR login failed with password [REDACTED:db_password]"
    [connecting] = logs("--search", "connecting")
    assert "[REDACTED:db_password]" in connecting["message"]
    # the service's own output file holds it (so the grep below would find it)...
    service_output = list((project / ".shipway" / "logs").rglob("*.log*"))
    assert any(CANARY.encode() in p.read_bytes() for p in service_output)
    # ...the state database does not
    for path in (project / ".shipway").glob("state.db*"):
        assert CANARY.encode() not in path.read_bytes(), path.name
    assert not [o for o in outputs if CANARY in o]
