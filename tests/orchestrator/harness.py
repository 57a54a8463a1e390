"""A throwaway project for orchestrator tests: a manifest using the recording stage
plugins, driven through the real `shipway` CLI in subprocesses, with its own agent."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from shipway.store import Store

PLUGIN = Path(__file__).with_name("stage_plugin.py")

MANIFEST = """\
version: 1
project: demo
environments:
  dev:
    target: local
  prod:
    extends: dev
    approval: required
pipeline:
  plugins: [stages.py]
{stages}
"""


class Project:
    def __init__(self, root: Path, state_url: str, stage_policies: str = "") -> None:
        self.root = root
        self.state_url = state_url
        root.mkdir(parents=True, exist_ok=True)
        shutil.copy(PLUGIN, root / "stages.py")
        self.write_manifest(stage_policies)
        self.control({})

    @property
    def manifest(self) -> Path:
        return self.root / "shipway.yaml"

    @property
    def home(self) -> Path:
        return self.root / ".shipway"

    def write_manifest(self, stage_policies: str = "", extra: str = "") -> None:
        stages = f"  stages:\n{stage_policies}" if stage_policies else ""
        self.manifest.write_text(MANIFEST.format(stages=stages) + extra)

    def control(self, data: dict[str, Any]) -> None:
        (self.root / "control.json").write_text(json.dumps(data))

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["SHIPWAY_STATE_URL"] = self.state_url
        env.pop("SHIPWAY_HOME", None)
        env["COLUMNS"] = "200"
        return env

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "shipway", *args, "-f", str(self.manifest)]

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args),
            capture_output=True,
            text=True,
            env=self.env(),
            cwd=self.root,
            timeout=timeout,
        )

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(*args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env(),
            cwd=self.root,
        )

    def lines(self, name: str) -> list[str]:
        path = self.root / name
        return path.read_text().splitlines() if path.exists() else []

    def status(self, deployment_id: str) -> dict[str, Any]:
        done = self.run("status", deployment_id, "--output", "json")
        assert done.returncode == 0, done.stderr
        data: dict[str, Any] = json.loads(done.stdout)
        return data

    def events(self, deployment_id: str) -> list[dict[str, Any]]:
        done = self.run("events", deployment_id, "--output", "json")
        assert done.returncode == 0, done.stderr
        decoder = json.JSONDecoder()
        text, out, pos = done.stdout, [], 0
        while pos < len(text):
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos >= len(text):
                break
            obj, pos = decoder.raw_decode(text, pos)
            out.append(obj)
        return out

    def event_types(self, deployment_id: str) -> list[str]:
        return [e["type"] for e in self.events(deployment_id)]

    def agent_pid(self) -> int:
        info = json.loads((self.home / "agent.json").read_text())
        return int(info["pid"])

    def kill_agent(self) -> None:
        pid = self.agent_pid()
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def wait_for_line(self, name: str, prefix: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(line.startswith(prefix) for line in self.lines(name)):
                return
            time.sleep(0.05)
        raise AssertionError(f"{prefix!r} never appeared in {name}: {self.lines(name)}")

    def wait_for_status(
        self, deployment_id: str, statuses: set[str], timeout: float = 90
    ) -> dict[str, Any]:
        # Polls the store directly (a CLI call per poll costs a second); the final state
        # is read through the CLI.
        store = Store.open(self.state_url)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                current = store.deployments.get(deployment_id).status
                if current in statuses:
                    return self.status(deployment_id)
                time.sleep(0.1)
        finally:
            store.close()
        raise AssertionError(f"{deployment_id} never reached {statuses}: {current}")

    def stop_agent(self) -> None:
        self.run("agent", "stop", timeout=60)
