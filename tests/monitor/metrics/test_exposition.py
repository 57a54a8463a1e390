"""The exposition parser against what prometheus_client writes (text 0.0.4 and
OpenMetrics) and against hand-written edge cases."""

from __future__ import annotations

import math

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.parser import text_string_to_metric_families

from shipway.monitor.metrics.exposition import ExpositionError, parse_exposition


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    requests = Counter("http_requests", "Requests.", ["path", "status"], registry=registry)
    requests.labels('/a"b\\c\nd', "200").inc(3)
    requests.labels("/x", "500").inc()
    Gauge("temperature", "Temp.", registry=registry).set(float("nan"))
    Gauge("big", "Big.", registry=registry).set(float("inf"))
    latency = Histogram("latency_seconds", "Latency.", ["path"], registry=registry)
    for value in (0.003, 0.2, 0.2, 7.0, 30.0):
        latency.labels("/a").observe(value)
    Summary("work_seconds", "Work.", registry=registry).observe(1.5)
    return registry


def _key(name: str, labels: dict[str, str], value: float) -> tuple[object, ...]:
    return (name, tuple(sorted(labels.items())), "nan" if math.isnan(value) else value)


def test_text_format_agrees_with_prometheus_client_parser() -> None:
    text = generate_latest(_registry()).decode()
    ours = {_key(s.name, s.labels, s.value) for s in parse_exposition(text)}
    theirs = {
        _key(s.name, s.labels, s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert ours == theirs
    assert ("http_requests_total", (("path", '/a"b\\c\nd'), ("status", "200")), 3.0) in ours
    assert any(name == "http_requests_created" for name, *_ in ours)
    assert ("latency_seconds_bucket", (("le", "+Inf"), ("path", "/a")), 5.0) in ours
    assert ("temperature", (), "nan") in ours and ("big", (), math.inf) in ours


def test_openmetrics_with_eof_timestamps_and_exemplars() -> None:
    text = generate_openmetrics(_registry()).decode()
    assert text.endswith("# EOF\n")
    names = {s.name for s in parse_exposition(text, openmetrics=True)}
    assert {"http_requests_total", "http_requests_created", "latency_seconds_bucket"} <= names
    body = (
        "# TYPE a counter\n"
        'a_total{x="1"} 5 1700000000.5 # {trace_id="abc"} 1.0 1700000000.1\n'
        "# EOF\n"
        "after_eof 1\n"
    )
    (sample,) = parse_exposition(body, openmetrics=True)
    assert (sample.name, sample.labels, sample.value, sample.timestamp) == (
        "a_total",
        {"x": "1"},
        5.0,
        1700000000.5,
    )


def test_text_timestamps_are_milliseconds_and_specials_parse() -> None:
    body = 'm{a="x",} -Inf 1700000000123\nn +Inf\no NaN\np{} 1e-3\n'
    parsed = parse_exposition(body)
    assert parsed[0].timestamp == 1700000000.123 and parsed[0].value == -math.inf
    assert parsed[1].value == math.inf and math.isnan(parsed[2].value)
    assert parsed[3].value == 0.001 and parsed[3].labels == {}


@pytest.mark.parametrize(
    "line", ['m{a="x" 1', "m{a=x} 1", "m", "m 1 2 3", 'm{a="1",a="2"} 1', "9m 1", "m abc"]
)
def test_malformed_lines_reject_the_scrape(line: str) -> None:
    with pytest.raises(ExpositionError, match="line 2"):
        parse_exposition("ok 1\n" + line + "\n")
