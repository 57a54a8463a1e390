"""The metrics collector's periodic parts on a real store: host and own metrics written
into environments, retention over every environment with series (also stopped ones)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from shipway.manifest.monitoring import MonitoringSpec
from shipway.monitor.collectors import BUILTIN_COLLECTORS, CollectorContext
from shipway.monitor.metrics.collector import MetricsCollector
from shipway.monitor.query import instant_query, write_samples
from shipway.store import DeploymentRecord, Store


def _collector(store: Store, home: Path) -> MetricsCollector:
    host: Any = None  # these parts never touch the service host
    return MetricsCollector(CollectorContext(store, home, "test-exec", host, threading.Event()))


def test_the_collector_is_registered() -> None:
    assert "shipway.monitor.metrics.collector:MetricsCollector" in BUILTIN_COLLECTORS


def test_host_and_own_metrics_land_in_the_environments(sqlite_store: Store, tmp_path: Path) -> None:
    sqlite_store.deployments.create(DeploymentRecord(id="dep-1", project="shop", environment="dev"))
    collector = _collector(sqlite_store, tmp_path)
    collector._host({("shop", "dev"): MonitoringSpec()})
    collector._own()
    now = time.time()
    cpu = instant_query(
        sqlite_store, "shop", "dev", 'count(node_cpu_seconds_total{mode="idle"})', now
    )
    assert cpu and cpu[0][1] >= 1
    queued = instant_query(sqlite_store, "shop", "dev", 'shipway_deployments{status="queued"}', now)
    assert [(labels["job"], value) for labels, value in queued] == [("shipway", 1.0)]


def test_retention_covers_environments_without_running_services(
    sqlite_store: Store, tmp_path: Path
) -> None:
    old = time.time() // 60 * 60 - 3 * 86400  # 8 samples in two whole minutes
    write_samples(sqlite_store, "gone", "prod", [("g", {}, old + k * 15, 1.0) for k in range(8)])
    write_samples(sqlite_store, "shop", "dev", [("g", {}, old, 1.0)])
    short = MonitoringSpec.model_validate({"retention": {"raw": "1h", "rollups": "1d"}})
    _collector(sqlite_store, tmp_path)._retention({("shop", "dev"): short})
    with sqlite_store.db.read() as conn:
        raw = conn.exec_driver_sql("SELECT count(*) FROM metric_samples").scalar()
        rollups = conn.exec_driver_sql(
            "SELECT m.project, count(*) FROM metric_rollups r JOIN metric_series m "
            "ON m.id = r.series_id GROUP BY m.project ORDER BY m.project"
        ).all()
    assert raw == 0  # both past the 24h default and the 1h raw window
    assert [tuple(r) for r in rollups] == [("gone", 2)]  # 30d default keeps; 1d drops
