"""`shipway rollback`: back to the previous manifest, and the rolled-back digest is blocked."""

from __future__ import annotations

import json

from tests.orchestrator.harness import Project


def _deploy(project: Project, *args: str) -> dict:
    done = project.run("deploy", "-e", "dev", "--output", "json", *args)
    assert done.stdout, done.stderr
    data = json.loads(done.stdout)
    data["code"] = done.returncode
    return data


def test_rollback_redeploys_previous_and_blocks_digest(sqlite_project: Project) -> None:
    project = sqlite_project
    first = _deploy(project)
    assert first["code"] == 0
    project.write_manifest("    observe: {retries: 1}\n")
    second = _deploy(project)
    assert second["code"] == 0
    assert second["manifest_digest"] != first["manifest_digest"]

    done = project.run("rollback", "-e", "dev", "--output", "json")
    assert done.returncode == 0, done.stderr
    rolled = json.loads(done.stdout)
    assert rolled["kind"] == "rollback"
    assert rolled["manifest_digest"] == first["manifest_digest"]
    assert rolled["rollback_from"] == second["deployment_id"]

    again = project.run("deploy", "-e", "dev")
    assert again.returncode == 3
    assert "rolled back" in again.stderr and "--force" in again.stderr
    forced = _deploy(project, "--force")
    assert forced["code"] == 0
    assert _deploy(project)["code"] == 0  # the block is gone once forced through


def test_rollback_to_a_named_deployment(sqlite_project: Project) -> None:
    project = sqlite_project
    first = _deploy(project)
    project.write_manifest("    observe: {retries: 1}\n")
    _deploy(project)
    project.write_manifest("    observe: {retries: 2}\n")
    _deploy(project)
    done = project.run("rollback", "-e", "dev", "--to", first["deployment_id"], "--output", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["manifest_digest"] == first["manifest_digest"]


def test_rollback_without_history_is_bad_input(sqlite_project: Project) -> None:
    done = sqlite_project.run("rollback", "-e", "dev")
    assert done.returncode == 2
    assert "no successful deployment" in done.stderr
