"""Anomaly rules evaluated over samples in a real state store (SQLite and PostgreSQL):
anomalies are stored once, become events of the deployment serving the environment, and
drive the `shipway_anomaly` series an alert rule can use."""

from __future__ import annotations

import random
from typing import Any

from shipway.manifest.monitoring import AnomalyRule
from shipway.monitor.anomaly.evaluate import ANOMALY_DETECTED, evaluate_rule, record
from shipway.monitor.query import instant_query, write_samples
from shipway.store import Store
from shipway.store.records import DeploymentRecord

NOW = 1_800_000_000.0
DAY = 86400.0


def _rule(**fields: Any) -> AnomalyRule:
    fields.setdefault("name", "latency")
    fields.setdefault("query", "request_seconds")
    fields.setdefault("window", "1h")
    fields.setdefault("step", "1m")
    return AnomalyRule.model_validate(fields)


def _write(store: Store, points: list[tuple[float, float]], **labels: str) -> None:
    write_samples(
        store,
        "notes",
        "dev",
        [("request_seconds", {"job": "api", **labels}, t, v) for t, v in points],
    )


def _steady(
    rng: random.Random, start: float, end: float, level: float
) -> list[tuple[float, float]]:
    count = int((end - start) // 60)
    return [(start + i * 60, rng.gauss(level, 0.01)) for i in range(count + 1)]


def _deployment(store: Store) -> DeploymentRecord:
    return store.deployments.create(
        DeploymentRecord(id="dep-anomaly", project="notes", environment="dev", correlation_id="c1")
    )


def test_a_spike_is_recorded_once_becomes_an_event_and_a_series(metrics_store: Store) -> None:
    store = metrics_store
    deployment = _deployment(store)
    rng = random.Random(1)
    _write(store, _steady(rng, NOW - 3600, NOW - 60, 0.2), instance="a")
    _write(store, [(NOW, 0.9)], instance="a")  # the spike, at the newest point
    _write(store, _steady(rng, NOW - 3600, NOW, 0.2), instance="b")  # a calm series
    rule = _rule(detectors=["zscore", "ewma"])

    evaluations = evaluate_rule(store, "notes", "dev", rule, NOW)
    anomalous = {
        (e.labels["instance"], e.judgement.detector) for e in evaluations if e.judgement.anomalous
    }
    assert anomalous == {("a", "zscore"), ("a", "ewma")}
    assert len(evaluations) == 4  # two series, two detectors

    assert record(store, "notes", "dev", evaluations, NOW) == 2
    assert record(store, "notes", "dev", evaluations, NOW) == 0  # the same point again
    rows = store.analyses.anomalies("notes", "dev")
    assert {(r.labels["instance"], r.detector) for r in rows} == anomalous
    assert all(r.deployment_id == deployment.id and r.value == 0.9 for r in rows)
    assert all(abs(r.expected - 0.2) < 0.05 for r in rows)

    events = [
        e for e in store.events.read(deployment_id=deployment.id) if e.type == ANOMALY_DETECTED
    ]
    assert len(events) == 2
    assert events[0].correlation_id == "c1"
    assert "latency{instance=a,job=api}: 0.9 where 0.2" in events[0].message

    flagged = instant_query(store, "notes", "dev", 'shipway_anomaly{metric="latency"} == 1', NOW)
    assert sorted((labels["instance"], labels["detector"]) for labels, _ in flagged) == sorted(
        anomalous
    )
    calm = instant_query(store, "notes", "dev", 'shipway_anomaly{instance="b"}', NOW)
    assert [value for _, value in calm] == [0.0, 0.0]


def test_without_a_deployment_anomalies_are_stored_without_events(metrics_store: Store) -> None:
    store = metrics_store
    rng = random.Random(2)
    _write(store, [*_steady(rng, NOW - 3600, NOW - 60, 0.2), (NOW, 5.0)])
    evaluations = evaluate_rule(store, "notes", "dev", _rule(), NOW)
    assert record(store, "notes", "dev", evaluations, NOW) == 1
    (row,) = store.analyses.anomalies("notes", "dev")
    assert row.deployment_id is None
    assert store.events.read() == []


def test_seasonal_rules_use_the_same_hour_of_previous_days(metrics_store: Store) -> None:
    store = metrics_store
    rng = random.Random(3)
    rule = _rule(detectors=["seasonal"])
    # Today: a quiet hour, then a peak at NOW, as on every previous day at this hour.
    _write(store, [*_steady(rng, NOW - 3600, NOW - 60, 0.2), (NOW, 1.0)])
    assert evaluate_rule(store, "notes", "dev", rule, NOW) == []  # no history yet: silent
    for day in (1, 2):
        _write(store, _steady(rng, NOW - day * DAY - 1800, NOW - day * DAY + 1800, 1.0))
    assert evaluate_rule(store, "notes", "dev", rule, NOW) == []  # two days are not enough
    _write(store, _steady(rng, NOW - 3 * DAY - 1800, NOW - 3 * DAY + 1800, 1.0))
    (judged,) = evaluate_rule(store, "notes", "dev", rule, NOW)
    assert not judged.judgement.anomalous  # the daily peak is normal at this hour
    assert abs(judged.judgement.expected - 1.0) < 0.05
    zscore = evaluate_rule(store, "notes", "dev", _rule(detectors=["zscore"]), NOW)
    assert zscore[0].judgement.anomalous  # while the rolling window calls it one
