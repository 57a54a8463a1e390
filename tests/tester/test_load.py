"""The load kind and its generator against real servers: SLOs that hold and SLOs an
endpoint that sleeps breaks, error rates, coordinated omission, rate accuracy."""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from pathlib import Path

from shipway.tester import run_tests
from shipway.tester.load.generator import LoadPlan, run_in_thread
from shipway.tester.load.histogram import BUCKETS, LatencyHistogram, bucket_bounds, bucket_of
from shipway.tester.load.wire import ResponseParser, wire_request
from shipway.tester.results import CaseResult, RunReport
from tests.examples.notes_process import NotesProcess
from tests.tester.apps import TestApp
from tests.tester.conftest import make_target, run


def test_the_example_meets_its_slo(notes: NotesProcess, tmp_path: Path) -> None:
    report = run(
        """
tests:
  load:
    rate: 100/s
    duration: 2s
    requests: [GET /health, GET /notes]
    slo: {p95: 500ms, error_rate: 1%}
""",
        notes.base_url,
        tmp_path,
    )
    assert report.passed, [case.to_dict() for case in report.failures]
    summary, p95, errors, compared = report.cases
    assert summary.name == "requests" and p95.name == "p95 <= 500ms"
    assert errors.name == "error_rate <= 1%"
    assert compared.name == "compared with the previous run"
    assert compared.status == "skipped"
    assert summary.data["sent"] == 200
    assert summary.data["statuses"] == {"200": 200}
    assert set(summary.data["by_request"]) == {"GET /health", "GET /notes"}
    kept = json.loads(Path(summary.artifacts[1]).read_text())
    latency = LatencyHistogram.from_dict(kept["latency"])
    assert latency.total == 200
    assert latency.percentile(95) / 1000 == summary.data["latency_ms"]["p95"]


BASELINE = """
tests:
  load:
    rate: 40/s
    duration: 1s
    requests: ["GET /slow?ms={ms}"]
    slo: {{error_rate: 1%{limit}}}
"""


def _compared(report: RunReport) -> CaseResult:
    [case] = [c for c in report.cases if c.name == "compared with the previous run"]
    return case


def test_a_run_is_compared_with_the_last_passing_run_of_the_same_settings(
    test_app: TestApp, tmp_path: Path
) -> None:
    first = run(BASELINE.format(ms=5, limit=""), test_app.url, tmp_path)
    assert first.passed
    assert _compared(first).status == "skipped"
    second = run(BASELINE.format(ms=60, limit=""), test_app.url, tmp_path)
    # Another path is another load setting: a new baseline, not a regression.
    assert _compared(second).status == "skipped"
    third = run(BASELINE.format(ms=60, limit=""), test_app.url, tmp_path)
    compared = _compared(third)
    assert compared.status == "passed"
    assert compared.properties["baseline"] == tmp_path.name
    change = float(compared.properties["p95_change"])
    assert -0.5 < change < 0.5, compared.message
    assert "p95 " in compared.message and "error rate 0.00% (+0.00 pts)" in compared.message


def test_a_p95_regression_over_the_limit_fails_and_keeps_the_old_baseline(
    test_app: TestApp, tmp_path: Path
) -> None:
    """The same load settings against an endpoint that got slower between two runs."""
    spec = """
tests:
  load:
    rate: 40/s
    duration: 1s
    requests: [GET /lag]
    slo: {error_rate: 1%, max_p95_increase: 50%}
"""
    kept = tmp_path / "cache" / "load"
    try:
        test_app.lag_ms = 5
        fast = run(spec, test_app.url, tmp_path)
        assert fast.passed, [c.to_dict() for c in fast.failures]
        [baseline] = kept.glob("baseline-*.json")
        recorded = baseline.read_text()
        test_app.lag_ms = 120
        slow = run(spec, test_app.url, tmp_path)
    finally:
        test_app.lag_ms = 0
    compared = _compared(slow)
    assert compared.status == "failed", compared.message
    assert "more than the 50% allowed" in compared.message
    assert not slow.passed
    # A failed comparison never becomes the baseline.
    assert baseline.read_text() == recorded


def test_an_endpoint_that_sleeps_breaks_the_latency_slo(test_app: TestApp, tmp_path: Path) -> None:
    report = run(
        """
tests:
  load:
    rate: 40/s
    duration: 1500ms
    requests: ["GET /slow?ms=150", GET /health]
    slo: {p50: 1s, p95: 60ms}
""",
        test_app.url,
        tmp_path,
    )
    found = {case.name: case for case in report.cases}
    assert found["p50 <= 1s"].status == "passed"
    broken = found["p95 <= 60ms"]
    assert broken.status == "failed"
    assert "is over the SLO of 60ms (slowest: GET /slow?ms=150" in broken.message
    observed = float(broken.message.split("p95 latency ")[1].split("ms")[0])
    assert observed >= 150


def test_errors_break_the_error_rate_slo(test_app: TestApp, tmp_path: Path) -> None:
    report = run(
        """
tests:
  load:
    rate: 50/s
    duration: 1s
    requests: [GET /health, GET /fail]
    slo: {error_rate: 5%}
""",
        test_app.url,
        tmp_path,
    )
    found = {case.name: case for case in report.cases}
    broken = found["error_rate <= 5%"]
    assert broken.status == "failed"
    assert broken.message == "error rate 50.00% is over the SLO of 5% (HTTP 503: 25)"


def test_a_stall_delays_every_request_due_during_it(test_app: TestApp) -> None:
    """Open model: latency runs from the intended send time, so a 1 s stall shows in
    every request scheduled during it, not only in the few that were in flight."""
    request = wire_request("GET", f"{test_app.url}/stall", {}, None, "GET /stall")
    host, port = "127.0.0.1", test_app.port
    plan = LoadPlan(host, port, (request,), rate=100, duration=2.0, connections=4, timeout=5)
    timer = threading.Timer(0.5, lambda: setattr(test_app, "stall_until", time.monotonic() + 1))
    timer.start()
    stats = run_in_thread(plan)
    timer.join()
    slow = sum(
        count
        for index, count in enumerate(stats.latency.counts)
        if count and bucket_bounds(index)[0] >= 400_000
    )
    assert stats.failed == 0
    assert slow >= 40, f"only {slow} requests saw the stall"
    assert stats.service.percentile(50) < 100_000  # most requests were fast once sent


def test_the_rate_is_kept(test_app: TestApp) -> None:
    request = wire_request("GET", f"{test_app.url}/health", {}, None, "GET /health")
    plan = LoadPlan("127.0.0.1", test_app.port, (request,), rate=400, duration=2.0)
    stats = run_in_thread(plan)
    assert stats.sent == 800
    assert abs(stats.achieved_rate - 400) / 400 < 0.02, stats.achieved_rate
    assert stats.succeeded == 800


def test_progress_reaches_the_observer(test_app: TestApp, tmp_path: Path) -> None:
    target, spec = make_target(
        "tests:\n  load: {rate: 50/s, duration: 1200ms, requests: [GET /health]}\n",
        test_app.url,
        tmp_path,
    )
    report = asyncio.run(run_tests(spec, target))  # type: ignore[arg-type]
    assert report.passed
    seen = target.observer.progress_seen  # type: ignore[attr-defined]
    assert len(seen) >= 2
    assert seen[-1]["sent"] == 60


def test_a_refused_connection_counts_as_errors(tmp_path: Path) -> None:
    from tests.tester.apps import free_port

    report = run(
        "tests:\n  load: {rate: 20/s, duration: 500ms, requests: [GET /], slo: {error_rate: 1%}}\n",
        f"http://127.0.0.1:{free_port()}",
        tmp_path,
    )
    summary = report.cases[0]
    assert summary.status == "failed"
    assert summary.message.startswith("no request got an answer")
    assert any(reason.startswith("connect: ") for reason in summary.data["errors"])


def test_histogram_buckets_tile_the_range_with_bounded_error() -> None:
    for index in range(BUCKETS):
        low, high = bucket_bounds(index)
        assert bucket_of(low) == index and bucket_of(high) == index
        if index + 1 < BUCKETS:
            assert bucket_bounds(index + 1)[0] == high + 1
        assert (high - low) <= max(low, 1) / 127
    histogram = LatencyHistogram()
    values = sorted(random.Random(7).randint(0, 5_000_000) for _ in range(20_000))
    for value in values:
        histogram.record(value)
    for percent in (50, 90, 99, 99.9):
        exact = values[int(len(values) * percent / 100) - 1]
        assert exact <= histogram.percentile(percent) <= exact * 1.008 + 1
    again = LatencyHistogram.from_dict(json.loads(json.dumps(histogram.to_dict())))
    assert again.percentile(99) == histogram.percentile(99) and again.total == 20_000


def test_the_parser_reads_lengths_chunks_and_close() -> None:
    parser = ResponseParser()
    parser.expect(head=False)
    assert parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel") == 0
    assert parser.feed(b"lo") == 200 and parser.keep_alive
    parser.expect(head=False)
    chunked = b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"
    assert parser.feed(chunked) == 0
    assert parser.feed(b"0\r\n\r\n") == 201
    parser.expect(head=True)
    assert parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n") == 200
    parser.expect(head=False)
    assert parser.feed(b"HTTP/1.0 404 Not Found\r\n\r\nbody") == 0
    assert not parser.keep_alive and parser.close_delimited() == 404
