"""A copy of the example project deployed through the real CLI, with its own agent and
public port, for the release tests; and a client that polls the public port."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import psutil

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "notes"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def without_tests(manifest: str) -> str:
    """The manifest without its top-level `tests:` and `monitoring:` sections: these tests
    are about releases; the test stage (tests/tester) would add its contract run to every
    deploy, and tests of monitoring (tests/monitor) write the section they need."""
    for section in ("tests", "monitoring"):
        manifest = re.sub(rf"^{section}:.*\n(?:[ #].*\n|\n)*", "", manifest, flags=re.MULTILINE)
    return manifest


class DeployedProject:
    """examples/notes copied under `root`, its dev environment on a free public port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".shipway", "__pycache__"))
        self.port = free_port()
        self.edit(lambda text: without_tests(text).replace("port: 8080", f"port: {self.port}"))

    @property
    def manifest(self) -> Path:
        return self.root / "shipway.yaml"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def edit(self, change: Any) -> None:
        self.manifest.write_text(change(self.manifest.read_text()))

    def set_env(self, name: str, value: str) -> None:
        """Set (or add) one variable of services.api.env."""
        text = self.manifest.read_text()
        line = re.compile(rf"^      {name}: .*$", re.MULTILINE)
        if line.search(text):
            text = line.sub(f'      {name}: "{value}"', text)
        else:
            text = text.replace("    env:\n", f'    env:\n      {name}: "{value}"\n', 1)
        self.manifest.write_text(text)

    def run(
        self, *args: str, timeout: float = 120, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`shipway ARGS -f MANIFEST`; from `cwd`, the manifest's path is relative to it."""
        env = dict(os.environ, COLUMNS="200")
        env.pop("SHIPWAY_STATE_URL", None)
        manifest = self.manifest if cwd is None else self.manifest.relative_to(cwd)
        return subprocess.run(
            [sys.executable, "-m", "shipway", *args, "-f", str(manifest)],
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd or self.root,
            timeout=timeout,
        )

    def deploy(self) -> subprocess.CompletedProcess[str]:
        return self.run("deploy", "-e", "dev")

    def get(self, path: str, timeout: float = 5) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def version(self) -> str:
        status, body = self.get("/health")
        assert status == 200, body
        return str(json.loads(body)["version"])

    def json(self, *args: str) -> Any:
        done = self.run(*args, "--output", "json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def agent_pid(self) -> int:
        return int(json.loads((self.root / ".shipway" / "agent.json").read_text())["pid"])

    def our_processes(self) -> list[str]:
        """Every live process that belongs to this project: its agent, its services."""
        found = []
        marker = str(self.root)
        for proc in psutil.process_iter(["pid", "cmdline", "cwd", "status"]):
            try:
                if proc.info["status"] == psutil.STATUS_ZOMBIE:
                    continue
                cmdline = " ".join(proc.info["cmdline"] or [])
                cwd = proc.info["cwd"] or ""
            except psutil.Error:
                continue
            if proc.pid != os.getpid() and (marker in cmdline or cwd.startswith(marker)):
                found.append(f"{proc.pid} {cmdline}")
        return found

    def close(self) -> None:
        self.run("agent", "stop", timeout=60)


class Poller:
    """Sends GET /health to the public port at a steady pace from a thread, counting what
    came back: HTTP statuses, versions, and failures (connection errors, 5xx)."""

    def __init__(self, url: str, interval: float = 0.01) -> None:
        self.url = url
        self.interval = interval
        self.versions: Counter[str] = Counter()
        self.failures: list[str] = []
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sent += 1
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=5) as response:
                    self.versions[json.loads(response.read())["version"]] += 1
            except urllib.error.HTTPError as exc:
                self.failures.append(f"HTTP {exc.code}")
            except (OSError, ValueError) as exc:
                self.failures.append(f"{type(exc).__name__}: {exc}")
            time.sleep(self.interval)


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
