"""The test stage in the real pipeline, and `shipway test`, on a deployed copy of the
example: passing tests let a release serve; failing ones roll it back while the previous
release keeps serving; JUnit is kept with the deployment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import junitparser
import pytest

from tests.runtime.deployed import DeployedProject, Poller
from tests.tester.apps import free_port

pytestmark = pytest.mark.timeout(300)

TESTS = """tests:
  api:
    - name: health
      request: GET /health
      expect: {status: 200, json: {"$.status": ok, "$.version": "1"}}
    - name: create
      request: {method: POST, path: /notes, json: {text: from the pipeline}}
      expect: {status: 201}
      save: {id: "$.id"}
    - name: read
      request: GET /notes/${id}
      expect: {json: {"$.text": from the pipeline}}
  contract:
    openapi: app/openapi.json
    max_examples: 3
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeployedProject]:
    p = DeployedProject(tmp_path_factory.mktemp("pipeline") / "notes")
    p.edit(lambda text: text.split("tests:\n")[0] + TESTS)
    try:
        yield p
    finally:
        p.close()


def _history(project: DeployedProject) -> list[dict[str, object]]:
    return list(project.json("history", "-e", "dev"))


def test_passing_tests_let_the_release_serve(project: DeployedProject) -> None:
    done = project.deploy()
    assert done.returncode == 0, done.stderr + done.stdout
    (latest, *_) = _history(project)
    deployment = str(latest["deployment_id"])
    events = project.run("events", deployment).stdout
    assert "TESTING_COMPLETED" in events
    junit = project.root / ".shipway" / "artifacts" / deployment / "tests" / "junit.xml"
    xml = junitparser.JUnitXml.fromfile(str(junit))
    names = {suite.name for suite in xml}
    assert names == {"api.main", "contract"}
    assert xml.tests == 7 and xml.failures == 0 and xml.errors == 0  # 3 api, 4 GET operations
    report = json.loads((junit.parent / "report.json").read_text())
    assert report["passed"] is True and report["target"] == project.url


def test_shipway_test_runs_against_the_active_release(
    project: DeployedProject, tmp_path: Path
) -> None:
    junit = tmp_path / "junit.xml"
    done = project.run("test", "-e", "dev", "--kind", "api", "--junit", str(junit), "-o", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["passed"] is True and data["target"] == project.url
    assert [kind["kind"] for kind in data["kinds"]] == ["api"]
    xml = junitparser.JUnitXml.fromfile(str(junit))
    assert xml.tests == 3 and xml.failures == 0
    text = project.run("test", "-e", "dev", "--kind", "api")
    assert text.returncode == 0
    assert "passed: 3 passed in" in text.stdout


def test_shipway_test_fails_with_exit_1_and_names_the_failure(project: DeployedProject) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    done = project.run("test", "-e", "dev", "--kind", "api", "--url", down)
    assert done.returncode == 1
    assert "failed: api.main health" in done.stdout
    bad = project.run("test", "-e", "dev", "--kind", "nope")
    assert bad.returncode == 2 and "unknown test kind 'nope'" in bad.stderr


def test_failing_tests_roll_back_and_the_previous_release_keeps_serving(
    project: DeployedProject,
) -> None:
    assert project.version() == "1"
    project.set_env("NOTES_VERSION", "2")
    with Poller(project.url) as poller:
        failed = project.deploy()
    assert failed.returncode == 1, failed.stdout
    assert "rolled_back" in failed.stderr
    assert '1 test failed: api.main \'health\': $.version is "2", expected "1"' in (
        failed.stderr + failed.stdout
    )
    assert poller.failures == []
    assert project.version() == "1"
    releases = project.json("releases", "-e", "dev", "--all")
    assert [(r["number"], r["status"]) for r in releases][:2] == [(2, "rolled_back"), (1, "active")]
    (latest, *_) = _history(project)
    events = project.run("events", str(latest["deployment_id"])).stdout
    assert "TEST_FAILED" in events and "TESTING_COMPLETED" in events
