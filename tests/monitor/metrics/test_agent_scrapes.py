"""End to end: the example deployed through the real CLI, its agent's metrics collector
scraping the release's private port, `shipway metrics query` answering from the store,
and the agent's own /metrics endpoint."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.runtime.deployed import DeployedProject

MONITORING = """
monitoring:
  scrape:
    - service: api
      path: /metrics
      interval: 1s
"""


@pytest.fixture
def project(tmp_path: Path) -> Any:
    deployed = DeployedProject(tmp_path / "notes")
    deployed.edit(lambda text: text.rstrip("\n") + "\n" + MONITORING)
    try:
        yield deployed
    finally:
        deployed.close()


def _query(project: DeployedProject, expr: str) -> list[dict[str, Any]]:
    done = project.run("metrics", "query", expr, "-e", "dev", "--output", "json")
    assert done.returncode == 0, done.stderr
    result: list[dict[str, Any]] = json.loads(done.stdout)["result"]
    return result


def _eventually(project: DeployedProject, expr: str, deadline_s: float = 90) -> list[Any]:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        found = _query(project, expr)
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"{expr} had no data within {deadline_s}s")


def test_the_agent_scrapes_the_release_and_serves_its_own_metrics(
    project: DeployedProject,
) -> None:
    done = project.deploy()
    assert done.returncode == 0, done.stderr
    (up,) = _eventually(project, 'up{service="api"}')
    assert up["value"][1] == "1"
    labels = up["metric"]
    assert labels["job"] == "api" and labels["release"].startswith("notes-dev-r")
    assert labels["instance"].startswith("127.0.0.1:")
    for _ in range(5):
        assert project.get("/notes")[0] == 200
    found = _eventually(project, 'sum(http_requests_total{path="/notes"}) > 4')
    assert float(found[0]["value"][1]) >= 5
    info = json.loads((project.root / ".shipway" / "metrics-endpoint.json").read_text())
    body = httpx.get(info["url"], timeout=10).text
    assert "shipway_deployments{" in body and "node_cpu_seconds_total{" in body
