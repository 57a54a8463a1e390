"""A released service that starts crashing shows as crash-looping in `shipway status`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .deployed import free_port, wait_until

pytestmark = pytest.mark.timeout(180)

SERVER = """\
import http.server, os, sys

if os.path.exists(os.environ["CRASH_FLAG"]):
    print("crash flag found: exiting with status 3", flush=True)
    sys.exit(3)


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")


http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Health).serve_forever()
"""

MANIFEST = """\
version: 1
project: flaky
environments:
  dev: {{target: local}}
services:
  web:
    run: python server.py
    workdir: app
    port: {port}
    health: {{http: /, interval: 0.2s, healthy_after: 1}}
    env:
      CRASH_FLAG: {flag}
"""


class Flaky:
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "app").mkdir(parents=True)
        (root / "app" / "server.py").write_text(SERVER)
        self.flag = root / "crash.flag"
        self.manifest = root / "shipway.yaml"
        self.manifest.write_text(MANIFEST.format(port=free_port(), flag=self.flag))

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, COLUMNS="200")
        env.pop("SHIPWAY_STATE_URL", None)
        return subprocess.run(
            [sys.executable, "-m", "shipway", *args, "-f", str(self.manifest)],
            capture_output=True,
            text=True,
            env=env,
            cwd=self.root,
            timeout=120,
        )

    def services(self) -> list[dict[str, Any]]:
        done = self.run("status", "--output", "json")
        assert done.returncode == 0, done.stderr
        services: list[dict[str, Any]] = json.loads(done.stdout)["services"]
        return services


@pytest.fixture
def flaky(tmp_path: Path) -> Iterator[Flaky]:
    project = Flaky(tmp_path / "flaky")
    try:
        yield project
    finally:
        project.run("agent", "stop")
        shutil.rmtree(project.root / ".shipway", ignore_errors=True)


def test_three_crashes_in_a_row_show_as_crash_loop(flaky: Flaky) -> None:
    deployed = flaky.run("deploy", "-e", "dev")
    assert deployed.returncode == 0, deployed.stderr + deployed.stdout
    [service] = flaky.services()
    assert service["state"] == "running" and service["restarts"] == 0

    flaky.flag.write_text("")
    os.kill(service["pid"], signal.SIGKILL)
    wait_until(lambda: flaky.services()[0]["state"] == "crash_loop", 60, "crash_loop")

    [looping] = flaky.services()
    assert looping["restarts"] >= 2
    assert looping["last_exit"] == "exited with code 3"
    text = flaky.run("status")
    assert "crash_loop" in text.stdout
    assert "dev/web is crash-looping: exited with code 3" in text.stderr

    # The next restart (capped backoff) stays up; 10 s up ends the crash loop.
    flaky.flag.unlink()
    wait_until(lambda: flaky.services()[0]["state"] == "running", 90, "recovery")
