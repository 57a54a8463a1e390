"""shipway against a real Prometheus (Debian's /usr/bin/prometheus, 2.42), both scraping
the real example service (examples/notes) while a client drives requests, some failing.

(a) Independent scrapes: rate() sums and histogram_quantile agree within what two
    scrapers a fraction of a second apart can differ by.
(b) Identical data: the raw samples Prometheus stored (`metric[10m]` through its API) are
    written into shipway's store with write_samples, and every expression is evaluated at
    the same instants and ranges by both, shipway's side from the store and Prometheus's
    side through `monitoring.prometheus_url`: label sets equal, values within 1e-9
    relative.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipway.manifest.monitoring import MonitoringSpec
from shipway.monitor.metrics.scrape import scrape
from shipway.monitor.query import instant_query, range_query, write_samples
from shipway.store import Store, open_store

from ..conftest import free_port

PROMETHEUS = Path("/usr/bin/prometheus")
APP_DIR = Path(__file__).resolve().parents[3] / "examples" / "notes" / "app"
SCRAPE_S = 1.0
COLLECT_S = 25.0
EXPORTED = (
    "http_requests_total|http_request_duration_seconds_bucket|"
    "http_request_duration_seconds_sum|http_request_duration_seconds_count|up|"
    "scrape_duration_seconds|process_resident_memory_bytes|process_cpu_seconds_total"
)
EXPRESSIONS = [
    "rate(http_requests_total[5s])",
    "irate(http_requests_total[5s])",
    "increase(http_requests_total[10s])",
    "rate(http_requests_total[10s] offset 3s)",
    "sum by (status) (rate(http_requests_total[10s]))",
    "sum without (instance, path) (rate(http_requests_total[7s]))",
    'sum(rate(http_requests_total{status=~"5.."}[10s])) / sum(rate(http_requests_total[10s]))',
    "histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[10s])))",
    "histogram_quantile(0.5, rate(http_request_duration_seconds_bucket[10s]))",
    "avg by (method) (rate(http_request_duration_seconds_sum[10s]) "
    "/ rate(http_request_duration_seconds_count[10s]))",
    'rate(http_requests_total{status="500"}[10s]) '
    "/ on (method, path) sum by (method, path) (rate(http_requests_total[10s]))",
    'sum by (method, path, status) (rate(http_requests_total{status="500"}[10s])) '
    "/ ignoring (status) sum by (method, path) (rate(http_requests_total[10s]))",
    "max(scrape_duration_seconds) * 1000",
    "min by (job) (up)",
    "count(http_requests_total) > bool 1",
    "http_requests_total > 5",
    '-http_requests_total{path!="/notes"} + 2 ^ 3',
    "delta(process_resident_memory_bytes[10s])",
    "rate(process_cpu_seconds_total[10s]) * 100",
    "sum(http_request_duration_seconds_count) - sum(http_requests_total)",
]


def _wait_http(url: str, deadline_s: float, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {deadline_s}s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not PROMETHEUS.exists():
        from tests.conftest import need_service

        need_service("Debian's prometheus is not installed (apt-get install prometheus)")
    tmp = tmp_path_factory.mktemp("parity")
    app_port, prom_port = free_port(), free_port()
    app = subprocess.Popen(
        [sys.executable, "-m", "notes.app", "--port", str(app_port)],
        cwd=APP_DIR,
        env={
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp / 'notes.db'}",
            "ERROR_RATE": "0.2",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    config = tmp / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        "scrape_configs:\n  - job_name: notes\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{app_port}']\n"
    )
    prom = subprocess.Popen(
        [
            str(PROMETHEUS),
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    store = open_store(f"sqlite:///{tmp / 'state.db'}")
    stop = threading.Event()
    threads: list[threading.Thread] = []
    try:
        _wait_http(f"http://127.0.0.1:{app_port}/health", 60, app)
        _wait_http(f"http://127.0.0.1:{prom_port}/-/ready", 60, prom)
        target = f"http://127.0.0.1:{app_port}"
        threads = [
            threading.Thread(target=_scraper, args=(store, target, stop), daemon=True),
            threading.Thread(target=_client, args=(target, stop), daemon=True),
        ]
        for thread in threads:
            thread.start()
        time.sleep(COLLECT_S)  # collecting data, not an assertion
        yield {"store": store, "prometheus": f"http://127.0.0.1:{prom_port}", "tmp": tmp}
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        store.close()
        _stop(prom)
        _stop(app)


def _scraper(store: Store, target: str, stop: threading.Event) -> None:
    """shipway's scraper (the collector's `scrape` + `write_samples`), every second."""
    labels = {
        "job": "notes",
        "instance": target.removeprefix("http://"),
        "service": "notes",
        "release": "notes-test-r1",
    }
    with httpx.Client() as client:
        while not stop.is_set():
            started = time.monotonic()
            result = scrape(client, target + "/metrics", labels, timeout=SCRAPE_S)
            write_samples(store, "notes", "test", result.samples)
            stop.wait(max(0.0, SCRAPE_S - (time.monotonic() - started)))


def _client(target: str, stop: threading.Event) -> None:
    with httpx.Client(timeout=5) as client:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                if n % 5 == 0:
                    client.post(target + "/notes", json={"title": f"t{n}", "body": "b"})
                else:
                    client.get(target + ("/notes" if n % 2 else "/openapi.json"))
            except httpx.HTTPError:
                pass
            stop.wait(0.03)


def _close(a: float, b: float, rel: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= rel * max(abs(a), abs(b)) or abs(a - b) < 1e-300


def _key(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def test_independent_scrapes_agree_with_prometheus(world: dict[str, Any]) -> None:
    store: Store = world["store"]
    remote = MonitoringSpec.model_validate({"prometheus_url": world["prometheus"]})
    at = time.time() - 2
    expr = "sum by (status) (rate(http_requests_total[10s]))"
    ours = dict((_key(k), v) for k, v in instant_query(store, "notes", "test", expr, at))
    theirs = dict(
        (_key(k), v) for k, v in instant_query(store, "notes", "test", expr, at, monitoring=remote)
    )
    assert set(ours) == set(theirs) and (("status", "500"),) in ours
    for key, value in theirs.items():
        assert abs(ours[key] - value) <= 0.25 * value + 0.5, (key, ours[key], value)
    expr = "histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[10s])))"
    (ours_q,) = instant_query(store, "notes", "test", expr, at)
    (theirs_q,) = instant_query(store, "notes", "test", expr, at, monitoring=remote)
    assert 0 < theirs_q[1] < 1 and 0 < ours_q[1] < 1
    assert abs(ours_q[1] - theirs_q[1]) <= 0.5 * max(ours_q[1], theirs_q[1]) + 0.005
    assert [v for _, v in instant_query(store, "notes", "test", "sum(up)", at)] == [1.0]
    # Extra matchers reach the remote side too (printed back into the expression).
    expr = "sum(rate(http_requests_total[10s]))"
    plain = instant_query(store, "notes", "test", expr, at, monitoring=remote)
    matched = instant_query(
        store, "notes", "test", expr, at, matchers={"job": "notes"}, monitoring=remote
    )
    assert matched == plain and plain[0][1] > 0
    none = instant_query(
        store, "notes", "test", expr, at, matchers={"job": "other"}, monitoring=remote
    )
    assert none == []


@pytest.fixture(scope="module")
def same_data(world: dict[str, Any]) -> dict[str, Any]:
    """Prometheus's raw samples, copied into a fresh shipway store."""
    export_at = time.time() - 1
    response = httpx.get(
        world["prometheus"] + "/api/v1/query",
        params={"query": f'{{__name__=~"{EXPORTED}"}}[10m]', "time": f"{export_at:.3f}"},
        timeout=30,
    )
    body = response.json()
    assert body["status"] == "success", body
    rows = []
    times = []
    for series in body["data"]["result"]:
        labels = dict(series["metric"])
        name = labels.pop("__name__")
        for t, v in series["values"]:
            rows.append((name, labels, float(t), float(v)))
            times.append(float(t))
    assert len(rows) > 1000
    store = open_store(f"sqlite:///{world['tmp'] / 'copy.db'}")
    write_samples(store, "copy", "test", rows)
    return {"store": store, "first": min(times), "last": export_at}


def _instants(first: float, last: float) -> list[float]:
    # Spread over the data, on and off millisecond grid points, the newest at the export.
    span = last - first
    return [first + span * f + 0.0005 * k for k, f in enumerate((0.2, 0.37, 0.5, 0.71, 0.9))] + [
        last
    ]


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_identical_data_gives_identical_answers(
    same_data: dict[str, Any], world: dict[str, Any], expr: str
) -> None:
    store: Store = same_data["store"]
    remote = MonitoringSpec.model_validate({"prometheus_url": world["prometheus"]})
    compared = 0
    for at in _instants(same_data["first"], same_data["last"]):
        ours = {_key(k): v for k, v in instant_query(store, "copy", "test", expr, at)}
        theirs = {
            _key(k): v for k, v in instant_query(store, "copy", "test", expr, at, monitoring=remote)
        }
        assert set(ours) == set(theirs), (at, sorted(ours), sorted(theirs))
        for key, value in theirs.items():
            assert _close(ours[key], value, 1e-9), (at, key, ours[key], value)
            compared += 1
    start = same_data["first"] + 3.3
    ours_range = {
        _key(k): p
        for k, p in range_query(store, "copy", "test", expr, start, same_data["last"], 1.7)
    }
    theirs_range = {
        _key(k): p
        for k, p in range_query(
            store, "copy", "test", expr, start, same_data["last"], 1.7, monitoring=remote
        )
    }
    assert set(ours_range) == set(theirs_range)
    for key, points in theirs_range.items():
        mine = ours_range[key]
        assert [round(t, 3) for t, _ in mine] == [round(t, 3) for t, _ in points], key
        for (_, a), (_, b) in zip(mine, points, strict=True):
            assert _close(a, b, 1e-9), (key, a, b)
            compared += 1
    assert compared > 0
