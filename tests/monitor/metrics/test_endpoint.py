"""shipway's own metrics (from the store), host metrics (psutil, node_exporter names) and
the `/metrics` endpoint a Prometheus scrapes, read back with the exposition parser."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shipway.monitor.metrics.endpoint import ENDPOINT_FILE, LISTEN_ENV, serve
from shipway.monitor.metrics.exposition import parse_exposition
from shipway.monitor.metrics.host import host_samples
from shipway.monitor.metrics.own import read_own_metrics
from shipway.monitor.query import write_samples
from shipway.store import DeploymentRecord, Store

from ..conftest import free_port


def _deployments(store: Store) -> None:
    for n, status in enumerate(["succeeded", "succeeded", "failed", "rolled_back"]):
        record = store.deployments.create(
            DeploymentRecord(id=f"dep-{n}", project="shop", environment="dev")
        )
        store.deployments.set_status(record.id, status)  # type: ignore[arg-type]
        store.stage_runs.start(record.id, "validate")
        store.stage_runs.finish(record.id, "validate", "succeeded")


def test_own_metrics_count_deployments_and_stage_runs(metrics_store: Store) -> None:
    _deployments(metrics_store)
    found = {
        (name, tuple(sorted(labels.items()))): value
        for name, labels, value in read_own_metrics(metrics_store).all()
    }
    env = (("environment", "dev"), ("project", "shop"))
    assert found[("shipway_deployments", (*env, ("status", "succeeded")))] == 2
    assert found[("shipway_deployment_failures", env)] == 2
    stage = (*env, ("stage", "validate"))
    assert found[("shipway_stage_runs", (*stage, ("status", "succeeded")))] == 4
    assert found[("shipway_stage_duration_seconds_count", stage)] == 4
    assert 0 <= found[("shipway_stage_duration_seconds_sum", stage)] < 60


def test_host_metrics_use_node_exporter_names() -> None:
    names = {name for name, *_ in host_samples()}
    assert {
        "node_cpu_seconds_total",
        "node_load1",
        "node_memory_MemTotal_bytes",
        "node_memory_MemAvailable_bytes",
        "node_network_receive_bytes_total",
    } <= names
    cpu = [s for s in host_samples() if s[0] == "node_cpu_seconds_total"]
    assert {s[1]["mode"] for s in cpu} >= {"user", "system", "idle"}
    assert all(s[1]["job"] == "node" and s[3] >= 0 for s in cpu)


@pytest.fixture
def endpoint(sqlite_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv(LISTEN_ENV, f"127.0.0.1:{free_port()}")
    server = serve(sqlite_store, tmp_path)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield json.loads((tmp_path / ENDPOINT_FILE).read_text())["url"]
    server.shutdown()
    server.server_close()


def test_the_endpoint_serves_own_host_and_federated_metrics(
    endpoint: str, sqlite_store: Store
) -> None:
    import time

    _deployments(sqlite_store)
    write_samples(sqlite_store, "shop", "dev", [("app_up", {"job": "api"}, time.time(), 1.0)])
    response = httpx.get(endpoint, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = parse_exposition(response.text)
    names = {s.name for s in samples}
    assert {"shipway_deployments", "node_cpu_seconds_total"} <= names
    assert "app_up" not in names
    federated = parse_exposition(httpx.get(endpoint + "?federate=1", timeout=10).text)
    (app,) = [s for s in federated if s.name == "app_up"]
    assert app.labels == {"job": "api", "project": "shop", "environment": "dev"}
    assert httpx.get(endpoint.replace("/metrics", "/other"), timeout=10).status_code == 404
