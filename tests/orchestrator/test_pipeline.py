"""The pipeline end to end through the real CLI, agent, DBOS and state store."""

from __future__ import annotations

import json

from tests.orchestrator.harness import Project

ALL = ["validate", "provision", "configure", "scan", "release", "test", "observe"]


def deploy_json(project: Project, *args: str) -> tuple[int, dict]:
    done = project.run("deploy", "-e", "dev", "--output", "json", *args)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def test_deploy_runs_every_stage_once_in_order(project: Project) -> None:
    code, result = deploy_json(project)
    assert code == 0, result
    assert result["status"] == "succeeded"
    assert sorted(project.lines("effects.log")) == sorted(ALL)
    effects = project.lines("effects.log")
    assert effects[:2] == ["validate", "provision"]
    assert set(effects[2:4]) == {"configure", "scan"}
    assert effects[4:] == ["release", "test", "observe"]
    types = project.event_types(result["deployment_id"])
    assert types[0] == "DEPLOYMENT_QUEUED"
    assert types[-1] == "DEPLOYMENT_COMPLETED"
    for event in [
        "VALIDATION_COMPLETED",
        "RESOURCE_PROVISIONED",
        "CONFIGURATION_APPLIED",
        "SECURITY_SCANNED",
        "RELEASE_ACTIVATED",
        "TESTING_COMPLETED",
        "ANALYSIS_COMPLETED",
        "LEASE_ACQUIRED",
        "DEPLOYMENT_STARTED",
    ]:
        assert types.count(event) == 1, (event, types)
    assert [s["status"] for s in result["stages"]] == ["succeeded"] * 7


def test_failing_stage_compensates_in_reverse_order(sqlite_project: Project) -> None:
    project = sqlite_project
    project.control({"fail": ["test"]})
    code, result = deploy_json(project)
    assert code == 1
    assert result["status"] == "rolled_back"
    assert "test gate failed on purpose" in result["error"]
    undone = project.lines("undone.log")
    assert undone[0] == "test"
    assert undone[1] == "release"
    assert set(undone[2:4]) == {"configure", "scan"}
    assert undone[4:] == ["provision", "validate"]
    assert "observe" not in project.lines("started.log")
    text = project.run("events", result["deployment_id"]).stdout
    lines = text.splitlines()
    failed_at = next(i for i, line in enumerate(lines) if "STAGE_FAILED [test]" in line)
    comp_start = next(i for i, line in enumerate(lines) if "COMPENSATION_STARTED" in line)
    undone_lines = [line for line in lines if "COMPENSATION_COMPLETED" in line]
    assert failed_at < comp_start
    assert [line.split("[")[1].split("]")[0] for line in undone_lines] == undone
    assert "ROLLED_BACK" in lines[-1]
    stages = {s["stage"]: s["status"] for s in result["stages"]}
    assert stages["test"] == "compensated"
    assert stages["validate"] == "compensated"


def test_failed_compensation_ends_failed(sqlite_project: Project) -> None:
    project = sqlite_project
    project.control({"fail": ["release"], "fail_compensation": ["provision"]})
    code, result = deploy_json(project)
    assert code == 1
    assert result["status"] == "failed"
    assert "compensation failed" in result["error"]
    assert project.lines("undone.log")[-1] == "validate"
    assert "COMPENSATION_FAILED" in project.event_types(result["deployment_id"])


def test_validate_failure_touches_nothing(sqlite_project: Project) -> None:
    project = sqlite_project
    project.control({"fail": ["validate"]})
    code, _result = deploy_json(project)
    assert code == 1
    assert project.lines("effects.log") == []
    assert project.lines("started.log") == ["validate 1"]


def test_retries_with_backoff(sqlite_project: Project) -> None:
    project = sqlite_project
    project.write_manifest("    provision: {retries: 2, backoff: 100ms}\n")
    project.control({"crash": {"provision": 2}})
    code, result = deploy_json(project)
    assert code == 0, result
    types = project.event_types(result["deployment_id"])
    assert types.count("STAGE_RETRYING") == 2
    assert project.lines("effects.log").count("provision") == 1


def test_retries_exhausted_fail(sqlite_project: Project) -> None:
    project = sqlite_project
    project.write_manifest("    provision: {retries: 1, backoff: 100ms}\n")
    project.control({"crash": {"provision": 5}})
    code, result = deploy_json(project)
    assert code == 1
    assert "crashed on purpose (run 2)" in result["error"]


def test_stage_timeout(sqlite_project: Project) -> None:
    project = sqlite_project
    project.write_manifest("    release: {timeout: 1s}\n")
    project.control({"sleep": {"release": 20}})
    code, result = deploy_json(project)
    assert code == 1
    assert "timed out after 1s" in result["error"]
    assert "release" not in project.lines("effects.log")


def test_stage_without_component_is_skipped(tmp_path) -> None:
    root = tmp_path / "bare"
    root.mkdir()
    (root / "shipway.yaml").write_text("version: 1\nproject: bare\nenvironments:\n  dev: {}\n")
    project = Project.__new__(Project)
    project.root, project.state_url = root, f"sqlite:///{root / '.shipway' / 'state.db'}"
    try:
        code, result = deploy_json(project)
        assert code == 0, result
        assert [s["status"] for s in result["stages"]] == ["skipped"] * 7
        events = project.events(result["deployment_id"])
        skipped = [e for e in events if e["type"] == "STAGE_SKIPPED"]
        assert len(skipped) == 7
        assert "requirements is not configured in the manifest" in skipped[0]["message"]
        assert "resources is not configured in the manifest" in skipped[1]["message"]
        assert all("not configured in the manifest" in e["message"] for e in skipped)
    finally:
        project.stop_agent()


def test_cancel_running_deployment(sqlite_project: Project) -> None:
    project = sqlite_project
    project.control({"sleep": {"release": 60}})
    detach = project.run("deploy", "-e", "dev", "--detach")
    assert detach.returncode == 0, detach.stderr
    dep = detach.stdout.strip()
    project.wait_for_line("started.log", "release")
    done = project.run("cancel", dep)
    assert done.returncode == 0, done.stderr
    final = project.wait_for_status(dep, {"cancelled"}, timeout=30)
    assert final["error"] == "cancelled by request"
    assert project.lines("undone.log")[0] == "release"
    assert "test" not in project.lines("started.log")
    assert project.run("cancel", dep).returncode == 2


def test_approval_gates_the_release(sqlite_project: Project) -> None:
    project = sqlite_project
    done = project.run("deploy", "-e", "prod")
    assert done.returncode == 3, done.stderr
    assert "shipway approve" in done.stderr
    dep = json.loads(project.run("history", "-e", "prod", "--output", "json").stdout)[0][
        "deployment_id"
    ]
    assert project.status(dep)["status"] == "awaiting_approval"
    assert "release" not in project.lines("started.log")
    approved = project.run("approve", dep)
    assert approved.returncode == 0, approved.stderr
    final = project.wait_for_status(dep, {"succeeded", "failed", "rolled_back"})
    assert final["status"] == "succeeded"
    types = project.event_types(dep)
    assert (
        types.index("APPROVAL_REQUIRED")
        < types.index("APPROVED")
        < types.index("RELEASE_ACTIVATED")
    )
    assert project.run("approve", dep).returncode == 2


def test_bad_input_exits_2_without_traceback(sqlite_project: Project) -> None:
    project = sqlite_project
    for args in (
        ["deploy", "-e", "nope"],
        ["status", "no-such-deployment"],
        ["events", "zzzzzzzz"],
        ["deploy"],
    ):
        done = project.run(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
