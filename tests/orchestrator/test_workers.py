"""Team mode: `shipway worker` processes sharing a PostgreSQL state store run what the
CLI queues; the CLI starts no local agent while a worker is alive."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.orchestrator.harness import Project


@pytest.fixture
def pg_project(tmp_path: Path, pg_url: str) -> Iterator[Project]:
    proj = Project(tmp_path / "demo", pg_url)
    yield proj
    proj.stop_agent()


def start_worker(home: Path, state: str, worker_id: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shipway",
            "worker",
            "--state",
            state,
            "--id",
            worker_id,
            "--home",
            str(home),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    info = home / f"worker-{worker_id}.json"
    deadline = time.monotonic() + 60
    while not info.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "worker never became ready"
        time.sleep(0.05)
    return process


def stop_worker(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)


def started_by(project: Project, deployment_id: str) -> str:
    started = next(e for e in project.events(deployment_id) if e["type"] == "DEPLOYMENT_STARTED")
    return str(started["data"]["executor_id"])


def test_worker_runs_queued_deployments_without_a_local_agent(
    pg_project: Project, tmp_path: Path
) -> None:
    project = pg_project
    worker = start_worker(tmp_path / "w1", project.state_url, "w1")
    try:
        done = project.run("deploy", "-e", "dev", "--output", "json")
        assert done.returncode == 0, done.stderr
        dep = json.loads(done.stdout)["deployment_id"]
        assert started_by(project, dep) == "w1"
        assert not (project.home / "agent.json").exists()
        twin = subprocess.run(
            [
                sys.executable,
                "-m",
                "shipway",
                "worker",
                "--state",
                project.state_url,
                "--id",
                "w1",
                "--home",
                str(tmp_path / "w1"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert twin.returncode == 1
        assert "already runs" in twin.stderr
    finally:
        stop_worker(worker)
    # With no live worker left, the CLI starts this machine's agent again.
    done = project.run("deploy", "-e", "dev", "--output", "json")
    assert done.returncode == 0, done.stderr
    dep = json.loads(done.stdout)["deployment_id"]
    assert started_by(project, dep).startswith("agent-")
    assert (project.home / "agent.json").exists()
