"""Releases of the example application through the real CLI, agent, supervisor and
switching proxy: deploy, change, roll back, a release that never gets healthy, and an
agent killed with SIGKILL (issue 3, "Must be shown by tests")."""

from __future__ import annotations

import json
import os
import signal
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from .deployed import DeployedProject, Poller, wait_until

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[DeployedProject]:
    p = DeployedProject(tmp_path / "notes")
    try:
        yield p
    finally:
        p.close()
        leftover = p.our_processes()
        assert leftover == [], f"processes left after `agent stop`: {leftover}"


def test_deploy_change_and_roll_back(project: DeployedProject) -> None:
    first = project.deploy()
    assert first.returncode == 0, first.stderr + first.stdout
    assert f"api serves on {project.url}" in first.stdout
    assert project.version() == "1"
    status, page = project.get("/")
    assert status == 200 and "<form" in page
    request = urllib.request.Request(
        project.url + "/notes",
        data=json.dumps({"text": "kept across releases"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 201

    project.set_env("NOTES_VERSION", "2")
    second = project.deploy()
    assert second.returncode == 0, second.stderr + second.stdout
    assert project.version() == "2"
    assert "kept across releases" in project.get("/notes")[1]  # ${data_dir} outlives r1

    releases = project.json("releases", "-e", "dev")
    assert [(r["number"], r["status"]) for r in releases] == [(2, "active"), (1, "standby")]
    assert releases[0]["artifact_digest"] == releases[1]["artifact_digest"]  # same code
    assert releases[0]["manifest_digest"] != releases[1]["manifest_digest"]

    back = project.run("rollback", "-e", "dev")
    assert back.returncode == 0, back.stderr + back.stdout
    assert project.version() == "1"
    assert "kept across releases" in project.get("/notes")[1]
    releases = project.json("releases", "-e", "dev")
    assert [(r["number"], r["status"]) for r in releases] == [(2, "standby"), (1, "active")]
    rollback_id = back.stdout.split(" back with ")[1].split()[0]
    events = project.run("events", rollback_id).stdout
    assert "re-used, no rebuild" in events

    forward = project.run("rollback", "-e", "dev", "--to", "r2")
    assert forward.returncode == 0, forward.stderr + forward.stdout
    assert project.version() == "2"


def test_a_relative_manifest_path_works_from_another_folder(project: DeployedProject) -> None:
    done = project.run("deploy", "-e", "dev", cwd=project.root.parent)  # as ./dev example does
    assert done.returncode == 0, done.stderr + done.stdout
    assert project.version() == "1"


def test_code_change_is_served_and_rolled_back(project: DeployedProject) -> None:
    assert project.deploy().returncode == 0
    health_code = project.root / "app" / "notes" / "api.py"
    original = health_code.read_text()
    assert '"status": "ok"' in original
    health_code.write_text(original.replace('"status": "ok"', '"status": "ok-edited"'))
    assert project.deploy().returncode == 0
    assert json.loads(project.get("/health")[1])["status"] == "ok-edited"
    releases = project.json("releases", "-e", "dev")
    assert releases[0]["artifact_digest"] != releases[1]["artifact_digest"]

    assert project.run("rollback", "-e", "dev").returncode == 0
    # The kept release runs its own copy of the code, whatever the folder holds now.
    assert json.loads(project.get("/health")[1])["status"] == "ok"


def test_unhealthy_release_keeps_the_old_one_serving(project: DeployedProject) -> None:
    assert project.deploy().returncode == 0
    project.set_env("NOTES_VERSION", "2")
    project.set_env("FAIL_HEALTH", "1")
    project.edit(
        lambda text: text.replace("healthy_after: 2", "healthy_after: 2\n      start_timeout: 3s")
    )
    with Poller(project.url) as poller:
        failed = project.deploy()
    assert failed.returncode == 1, failed.stdout
    assert "not healthy after 3s" in failed.stderr
    assert "HTTP 503" in failed.stderr and "FAIL_HEALTH is set" in failed.stderr
    assert poller.failures == []
    assert set(poller.versions) == {"1"} and poller.sent > 50
    assert project.version() == "1"
    releases = project.json("releases", "-e", "dev", "--all")
    assert [(r["number"], r["status"]) for r in releases] == [(2, "failed"), (1, "active")]


def test_agent_killed_then_recovered_then_stopped(project: DeployedProject) -> None:
    assert project.deploy().returncode == 0
    service_pid = project.json("status")["services"][0]["pid"]
    os.kill(project.agent_pid(), signal.SIGKILL)
    wait_until(lambda: _refused(project), 10, "the public port to close with its agent")
    assert psutil.pid_exists(service_pid)  # services outlive the agent (decision 0012)

    status = project.run("status")
    assert status.returncode == 0, status.stderr
    assert "the agent was not running: started it again" in status.stderr
    assert project.version() == "1"
    services = project.json("status")["services"]
    assert services[0]["pid"] == service_pid and services[0]["state"] == "running"

    stopped = project.run("agent", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert not psutil.pid_exists(service_pid) or psutil.Process(service_pid).status() == "zombie"
    assert project.our_processes() == []
    assert _refused(project)

    # The next command brings the active release back, started afresh.
    again = project.run("status")
    assert "the agent was not running: started it again" in again.stderr
    assert project.version() == "1"
    assert project.json("status")["services"][0]["pid"] != service_pid


def test_a_taken_public_port_fails_the_release_and_leaves_nothing_running(
    project: DeployedProject,
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", project.port))
        squatter.listen()
        failed = project.deploy()
        assert failed.returncode == 1, failed.stdout
        assert f"cannot listen on public port 127.0.0.1:{project.port}" in failed.stderr
        assert project.json("status")["services"] == []
        assert [p for p in project.our_processes() if "notes.app" in p] == []


def _refused(project: DeployedProject) -> bool:
    try:
        project.get("/health", timeout=2)
    except OSError:
        return True
    return False


FAILING_TESTS = """\
from shipway.errors import StageError
from shipway.orchestrator.stages import Stage, registry


class FailingTests(Stage):
    name = "test"

    def run(self, ctx):
        raise StageError("2 of 5 checks failed on purpose")


registry.register(FailingTests)
"""


def test_a_failed_test_stage_puts_the_previous_release_back(project: DeployedProject) -> None:
    assert project.deploy().returncode == 0
    (project.root / "failing_tests.py").write_text(FAILING_TESTS)
    project.set_env("NOTES_VERSION", "2")
    project.edit(lambda text: text + "pipeline:\n  plugins: [failing_tests.py]\n")
    with Poller(project.url) as poller:
        failed = project.deploy()
    assert failed.returncode == 1, failed.stdout
    assert "rolled_back" in failed.stderr and "failed on purpose" in failed.stderr
    assert poller.failures == []
    assert poller.versions["2"] > 0  # r2 served between its switch and the saga
    assert project.version() == "1"
    releases = project.json("releases", "-e", "dev", "--all")
    assert [(r["number"], r["status"]) for r in releases] == [(2, "rolled_back"), (1, "active")]
