"""Scraping a real HTTP endpoint (prometheus_client's own server): target labels, clashes
kept as exported_*, `up`/`scrape_duration_seconds`, a down target, and the stored result."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter, start_http_server

from shipway.manifest.monitoring import MonitoringSpec
from shipway.monitor.metrics.collector import scrape_jobs
from shipway.monitor.metrics.scrape import scrape
from shipway.monitor.query import instant_query, write_samples
from shipway.monitor.targets import RunningService
from shipway.store import Store

from ..conftest import free_port

TARGET = {"job": "api", "instance": "x", "service": "api", "release": "shop-dev-r1"}


@pytest.fixture
def endpoint() -> Iterator[str]:
    registry = CollectorRegistry()
    hits = Counter("hits", "Hits.", ["job", "path"], registry=registry)
    hits.labels("inner", "/a").inc(4)
    port = free_port()
    server, thread = start_http_server(port, "127.0.0.1", registry)
    yield f"http://127.0.0.1:{port}/metrics"
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_scrape_labels_samples_and_stores_them(endpoint: str, sqlite_store: Store) -> None:
    with httpx.Client() as client:
        result = scrape(client, endpoint, TARGET, timeout=5)
    assert result.up and result.error is None
    hits = [s for s in result.samples if s[0] == "hits_total"]
    assert hits == [
        (
            "hits_total",
            {"exported_job": "inner", "path": "/a", **TARGET},
            hits[0][2],
            4.0,
        )
    ]
    assert abs(hits[0][2] - time.time()) < 60
    write_samples(sqlite_store, "shop", "dev", result.samples)
    at = hits[0][2]
    assert instant_query(sqlite_store, "shop", "dev", "up", at) == [
        ({"__name__": "up", **TARGET}, 1.0)
    ]
    (duration,) = instant_query(sqlite_store, "shop", "dev", "scrape_duration_seconds", at)
    assert 0 < duration[1] < 5
    found = instant_query(sqlite_store, "shop", "dev", 'hits_total{exported_job="inner"}', at)
    assert [v for _, v in found] == [4.0]


def test_a_down_target_is_up_zero() -> None:
    url = f"http://127.0.0.1:{free_port()}/metrics"
    with httpx.Client() as client:
        result = scrape(client, url, TARGET, timeout=2)
    assert not result.up and result.error
    assert [(s[0], s[3]) for s in result.samples if s[0] == "up"] == [("up", 0.0)]
    assert [s[0] for s in result.samples] == [
        "up",
        "scrape_duration_seconds",
        "scrape_samples_scraped",
    ]


def test_scrape_jobs_follow_the_services_scrape_entries() -> None:
    monitoring = MonitoringSpec.model_validate(
        {"scrape": [{"service": "api", "path": "/m", "interval": "5s", "timeout": "30s"}]}
    )

    def service(name: str, port: int | None) -> RunningService:
        return RunningService(
            "shop", "dev", name, "shop-dev-r2", "dep-1", 1, port, "/tmp/log", monitoring
        )

    jobs = scrape_jobs([service("api", 4100), service("worker", 4101), service("api", None)])
    assert len(jobs) == 1
    (job,) = jobs
    assert job.url == "http://127.0.0.1:4100/m"
    assert (job.interval, job.timeout) == (5.0, 5.0)  # the timeout is capped at the interval
    assert job.labels == {
        "job": "api",
        "instance": "127.0.0.1:4100",
        "service": "api",
        "release": "shop-dev-r2",
    }


def test_staleness_markers_for_series_that_end() -> None:
    from shipway.monitor.metrics.scrape import ScrapeResult, StalenessTracker
    from shipway.monitor.metrics.storage import is_stale

    tracker = StalenessTracker()
    first = ScrapeResult(
        [("a", {"x": "1"}, 100.0, 1.0), ("b", {}, 100.0, 2.0), ("up", {}, 100.0, 1.0)],
        True,
        None,
        100.0,
    )
    assert tracker.after_scrape("t", first) == []
    second = ScrapeResult(
        [("a", {"x": "1"}, 110.0, 1.0), ("up", {}, 110.0, 1.0)], True, None, 110.0
    )
    (marker,) = tracker.after_scrape("t", second)
    assert marker[:3] == ("b", {}, 110.0) and is_stale(marker[3])
    failed = ScrapeResult([("up", {}, 120.0, 0.0)], False, "boom", 120.0)
    assert [m[0] for m in tracker.after_scrape("t", failed)] == ["a"]
    assert tracker.after_scrape("t", first) == []
    gone = tracker.target_gone("t", {"job": "api"}, 130.0)
    assert sorted(m[0] for m in gone) == [
        "a",
        "b",
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "up",
    ]
    assert all(is_stale(m[3]) and m[2] == 130.0 for m in gone)
