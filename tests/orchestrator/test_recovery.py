"""Crash safety: the process executing a deployment is killed with SIGKILL in the middle
of each stage, started again, and the deployment ends as an uninterrupted run would,
with no completed stage's side effect done twice."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from tests.orchestrator.harness import Project

ALL = ["validate", "provision", "configure", "scan", "release", "test", "observe"]


def _interrupt_and_resume(project: Project, stage: str, restart: str) -> str:
    project.control({"sleep": {stage: 2.5}})
    detach = project.run("deploy", "-e", "dev", "--detach")
    assert detach.returncode == 0, detach.stderr
    dep = detach.stdout.strip()
    project.wait_for_line("started.log", stage)
    time.sleep(0.3)
    project.kill_agent()
    assert project.status(dep)["status"] == "running"
    project.control({})
    if restart == "resume":
        done = project.run("resume", dep, "--output", "json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["status"] == "succeeded"
    else:
        started = project.run("agent", "start")
        assert started.returncode == 0, started.stderr
    project.wait_for_status(dep, {"succeeded", "failed", "rolled_back", "cancelled"})
    return dep


def _assert_like_uninterrupted(project: Project, dep: str, stage: str) -> None:
    final = project.status(dep)
    assert final["status"] == "succeeded", final
    assert sorted(project.lines("effects.log")) == sorted(ALL)  # every effect exactly once
    assert [s["status"] for s in final["stages"]] == ["succeeded"] * 7
    attempts = {s["stage"]: s["attempts"] for s in final["stages"]}
    assert attempts[stage] == 2
    assert all(n == 1 for name, n in attempts.items() if name not in (stage, "configure", "scan"))
    starts = [line.split()[0] for line in project.lines("started.log")]
    assert starts.count(stage) == 2
    types = project.event_types(dep)
    assert types.count("DEPLOYMENT_COMPLETED") == 1
    assert types.count("DEPLOYMENT_STARTED") == 1
    assert types[-1] == "DEPLOYMENT_COMPLETED"


@pytest.mark.parametrize("stage", ALL)
def test_kill_agent_mid_stage(project: Project, stage: str) -> None:
    # Both ways back: `shipway resume ID`, and simply starting the agent again.
    restart = "resume" if ALL.index(stage) % 2 == 0 else "agent-start"
    dep = _interrupt_and_resume(project, stage, restart)
    _assert_like_uninterrupted(project, dep, stage)


def test_killing_the_cli_changes_nothing(sqlite_project: Project) -> None:
    project = sqlite_project
    project.control({"sleep": {"provision": 1.5}})
    cli = project.spawn("deploy", "-e", "dev")
    project.wait_for_line("started.log", "provision")
    os.kill(cli.pid, signal.SIGKILL)
    cli.communicate(timeout=10)
    history = json.loads(project.run("history", "-e", "dev", "--output", "json").stdout)
    dep = history[0]["deployment_id"]
    final = project.wait_for_status(dep, {"succeeded", "failed", "rolled_back"})
    assert final["status"] == "succeeded"
    assert sorted(project.lines("effects.log")) == sorted(ALL)
    assert all(s["attempts"] == 1 for s in final["stages"])


def test_approval_wait_survives_an_agent_kill(sqlite_project: Project) -> None:
    project = sqlite_project
    done = project.run("deploy", "-e", "prod")
    assert done.returncode == 3, done.stderr
    history = json.loads(project.run("history", "-e", "prod", "--output", "json").stdout)
    dep = history[0]["deployment_id"]
    project.kill_agent()
    approved = project.run("approve", dep)  # starts a new agent, which recovers the wait
    assert approved.returncode == 0, approved.stderr
    final = project.wait_for_status(dep, {"succeeded", "failed", "rolled_back", "cancelled"})
    assert final["status"] == "succeeded"
    assert sorted(project.lines("effects.log")) == sorted(ALL)
    assert project.event_types(dep).count("APPROVAL_REQUIRED") == 1
