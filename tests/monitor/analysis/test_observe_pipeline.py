"""The observe stage in the real pipeline (issue 9, "Must be shown by tests"): the example
deployed through the real CLI and agent, scraped every second by the agent's metrics
collector while a thread sends steady traffic; each release is compared with the one
before it over 8 seconds.

In order, on one deployed project: the first release is not analysed (nothing to
compare with); a healthy release passes with its score; a release that doubles the
error rate is rolled back (exit 1, the previous release serving again, the deployment
rolled back, its manifest refused next time); a metric without data fails the stage.
Meanwhile the agent's anomaly collector evaluates a rule on the same traffic.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from shipway.monitor.query import instant_query
from shipway.store import EventRecord, Store
from tests.runtime.deployed import DeployedProject, wait_until

pytestmark = pytest.mark.timeout(420)

DURATION = 8
ERROR_RATIO = (
    'sum(rate(http_requests_total{status=~"5.."}[5s])) / sum(rate(http_requests_total[5s]))'
)
MONITORING = f"""
monitoring:
  scrape:
    - service: api
      interval: 1s
  anomalies:
    - name: traffic
      query: sum(rate(http_requests_total[5s]))
      window: 30s
      step: 1s
      interval: 2s
  analysis:
    duration: {DURATION}s
    step: 1s
    on_no_data: fail
    metrics:
      - name: error_ratio
        query: '{ERROR_RATIO}'
        max_increase: 0.03
"""
NO_DATA_METRIC = """      - name: queue_depth
        query: sum(rate(no_such_metric_total[5s]))
        max_increase: 1
"""


class Traffic:
    """GET /notes on the public port about 25 times a second, from a thread."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.statuses: Counter[int] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(0.04):
            try:
                with urllib.request.urlopen(self.url + "/notes", timeout=5) as response:
                    self.statuses[response.status] += 1
            except urllib.error.HTTPError as exc:
                self.statuses[exc.code] += 1
            except OSError:
                self.statuses[0] += 1  # between releases, or the agent starting


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeployedProject]:
    p = DeployedProject(tmp_path_factory.mktemp("observe") / "notes")
    p.edit(lambda text: text.rstrip("\n") + "\n" + MONITORING)
    p.set_env("ERROR_RATE", "0.1")
    try:
        yield p
    finally:
        p.close()


@pytest.fixture(scope="module")
def traffic(project: DeployedProject) -> Iterator[Traffic]:
    with Traffic(project.url) as t:
        yield t


def _latest(project: DeployedProject) -> dict[str, Any]:
    return dict(project.json("history", "-e", "dev")[0])


def _events(project: DeployedProject, deployment_id: str) -> list[EventRecord]:
    with Store.open(f"sqlite:///{project.root / '.shipway' / 'state.db'}") as store:
        return store.events.read(deployment_id=deployment_id, limit=10_000)


def _completed(events: list[EventRecord]) -> dict[str, Any]:
    (event,) = [e for e in events if e.type == "ANALYSIS_COMPLETED"]
    return dict(event.data["outputs"])


def _serve_a_while(seconds: float = DURATION + 4) -> None:
    """Let the serving release build up the baseline the next deployment compares with."""
    time.sleep(seconds)


def _releases(project: DeployedProject) -> list[tuple[int, str]]:
    found = project.json("releases", "-e", "dev", "--all")
    return [(r["number"], r["status"]) for r in found]


def test_the_first_release_is_not_analysed(project: DeployedProject, traffic: Traffic) -> None:
    done = project.deploy()
    assert done.returncode == 0, done.stderr + done.stdout
    events = _events(project, str(_latest(project)["deployment_id"]))
    skipped = [e for e in events if e.stage == "observe" and e.type == "STAGE_SKIPPED"]
    assert len(skipped) == 1
    assert "first release of dev" in skipped[0].message
    assert not any(e.type == "ANALYSIS_COMPLETED" for e in events)


def test_a_healthy_release_passes_with_its_score(
    project: DeployedProject, traffic: Traffic
) -> None:
    _serve_a_while()
    project.set_env("NOTES_VERSION", "2")
    done = project.deploy()
    assert done.returncode == 0, done.stderr + done.stdout
    assert project.version() == "2"
    outputs = _completed(_events(project, str(_latest(project)["deployment_id"])))
    assert outputs["verdict"] == "pass"
    assert outputs["score"] == 100
    (metric,) = outputs["metrics"]
    assert metric["verdict"] == "pass"
    assert metric["new_samples"] >= DURATION // 2 and metric["baseline_samples"] >= DURATION // 2, (
        metric
    )
    # The injected errors really were seen: about 1 request in 10 on both releases.
    assert 0.05 < metric["new_mean"] < 0.15 and 0.05 < metric["baseline_mean"] < 0.15


def test_a_release_that_doubles_the_error_rate_is_rolled_back(
    project: DeployedProject, traffic: Traffic
) -> None:
    _serve_a_while()
    project.set_env("ERROR_RATE", "0.2")
    project.set_env("NOTES_VERSION", "3")
    failed = project.deploy()
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "rolled_back" in failed.stderr
    assert "analysis fail: score 0 (error_ratio high)" in failed.stderr
    assert project.version() == "2"  # the previous release serves again
    assert _releases(project)[:2] == [(3, "rolled_back"), (2, "active")]
    latest = _latest(project)
    assert latest["status"] == "rolled_back"
    events = _events(project, str(latest["deployment_id"]))
    outputs = _completed(events)
    assert outputs["verdict"] == "fail" and outputs["score"] == 0
    (metric,) = outputs["metrics"]
    assert metric["verdict"] == "high"
    assert metric["new_mean"] > 1.5 * metric["baseline_mean"]
    assert any(e.type == "ROLLED_BACK" for e in events)

    again = project.deploy()  # the same manifest: refused, it was rolled back from
    assert again.returncode == 3, again.stdout + again.stderr
    assert "post-release analysis" in again.stderr and "--force" in again.stderr


def test_a_metric_without_data_fails_the_stage(project: DeployedProject, traffic: Traffic) -> None:
    project.set_env("ERROR_RATE", "0.1")
    project.set_env("NOTES_VERSION", "4")
    project.edit(lambda text: text.rstrip("\n") + "\n" + NO_DATA_METRIC)
    _serve_a_while()  # release 2 restarted when release 3 was rolled back
    failed = project.deploy()
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "queue_depth no data" in failed.stderr
    assert project.version() == "2"
    outputs = _completed(_events(project, str(_latest(project)["deployment_id"])))
    assert outputs["verdict"] == "fail"
    verdicts = {m["name"]: (m["verdict"], m["counted"]) for m in outputs["metrics"]}
    assert verdicts == {"error_ratio": ("pass", "pass"), "queue_depth": ("no_data", "fail")}
    assert outputs["score"] == 50
    assert traffic.statuses[200] > 0 and traffic.statuses[500] > 0


def test_the_agent_evaluates_anomaly_rules(project: DeployedProject) -> None:
    def written() -> bool:
        with Store.open(f"sqlite:///{project.root / '.shipway' / 'state.db'}") as store:
            found = instant_query(
                store, "notes", "dev", 'shipway_anomaly{metric="traffic"}', time.time()
            )
        return bool(found) and all(value in (0.0, 1.0) for _, value in found)

    # Written by the agent's AnomalyCollector each time it evaluates the rule.
    wait_until(written, 60, "the shipway_anomaly series of rule 'traffic'")
