"""The evaluator on a real store (SQLite and PostgreSQL): rules over samples written with
`write_samples` and over stored log lines (`count_lines`), states persisted across a
restart, retired rules, and notifications from the store to a real webhook server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from shipway.manifest.monitoring import MonitoringSpec
from shipway.monitor.alerts.evaluator import AlertEvaluator
from shipway.monitor.logs import log_repository
from shipway.monitor.logs.records import LogLine
from shipway.monitor.query import write_samples
from shipway.store import Store

from ..notify.servers import RecordingHttpServer, http_server

T0 = 1_800_000_000.0
RULE_4XX = {
    "name": "TooMany4xx",
    "expr": 'sum(rate(http_requests_total{status=~"4.."}[10s])) > 1',
    "for": "5s",
    "severity": "warning",
    "notify": ["ops"],
    "labels": {"team": "api"},
    "annotations": {"summary": "4xx at {{ $value }}/s"},
}


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, UTC)


def spec(url: str = "http://127.0.0.1:9", *rules: dict[str, Any]) -> MonitoringSpec:
    return MonitoringSpec.model_validate(
        {
            "alerts": list(rules) or [RULE_4XX],
            "notify": {"ops": {"webhook": url}},
            "alerting": {"group_wait": "2s", "group_interval": "5s", "repeat_interval": "1h"},
        }
    )


def write_404s(store: Store, until: float) -> None:
    """A counter of 404s that grows by 3 per second until `until`, flat after it."""
    samples = [
        ("http_requests_total", {"status": "404", "job": "api"}, T0 + s, 3.0 * min(s, until))
        for s in range(0, 120)
    ]
    write_samples(store, "notes", "dev", samples)


@pytest.fixture
def store(state_url: str) -> Iterator[Store]:
    with Store.open(state_url) as opened:
        yield opened


@pytest.fixture
def webhook() -> Iterator[RecordingHttpServer]:
    with http_server() as server:
        yield server


def states(store: Store) -> list[str]:
    return [a.state for a in store.alerts.instances("notes", "dev")]


def test_pending_firing_resolved_from_stored_samples(store: Store) -> None:
    write_404s(store, until=30)
    evaluator = AlertEvaluator(store, "notes", "dev", spec())
    assert evaluator.evaluate(at(2)) == [] and states(store) == []  # not enough points yet
    evaluator.evaluate(at(15))
    (pending,) = store.alerts.instances("notes", "dev")
    assert pending.state == "pending" and pending.active_at == at(15)
    assert pending.labels == {"alertname": "TooMany4xx", "severity": "warning", "team": "api"}
    assert pending.annotations == {"summary": "4xx at 3/s"}
    evaluator.evaluate(at(18))
    assert states(store) == ["pending"]
    evaluator.evaluate(at(20))
    (firing,) = store.alerts.instances("notes", "dev")
    assert firing.state == "firing" and firing.fired_at == at(20)
    assert firing.active_at == at(15)
    evaluator.evaluate(at(45))  # no 404 for 15 s: the 10 s rate is 0
    (resolved,) = store.alerts.instances("notes", "dev")
    assert resolved.state == "resolved" and resolved.resolved_at == at(45)
    evaluator.evaluate(at(45 + 15 * 60))
    assert states(store) == []
    evaluator.close()


def test_a_restart_keeps_the_pending_timer_and_firing_alerts(state_url: str) -> None:
    with Store.open(state_url) as store:
        write_404s(store, until=100)
        first = AlertEvaluator(store, "notes", "dev", spec())
        first.evaluate(at(15))
        first.close()
        assert states(store) == ["pending"]
    with Store.open(state_url) as store:  # the agent restarted
        second = AlertEvaluator(store, "notes", "dev", spec())
        second.evaluate(at(20))
        (alert,) = store.alerts.instances("notes", "dev")
        assert alert.state == "firing" and alert.active_at == at(15)
        second.close()
    with Store.open(state_url) as store:
        third = AlertEvaluator(store, "notes", "dev", spec())
        third.evaluate(at(25))
        (alert,) = store.alerts.instances("notes", "dev")
        assert alert.state == "firing" and alert.fired_at == at(20)
        third.close()


def test_a_failing_rule_is_reported_and_keeps_its_state(store: Store) -> None:
    write_404s(store, until=100)
    AlertEvaluator(store, "notes", "dev", spec()).evaluate(at(15))
    broken = dict(RULE_4XX, expr="sum(rate(http_requests_total[10s]) >")
    problems = AlertEvaluator(store, "notes", "dev", spec("http://127.0.0.1:9", broken)).evaluate(
        at(20)
    )
    assert len(problems) == 1 and problems[0].startswith("rule 'TooMany4xx':")
    assert states(store) == ["pending"]


def test_a_rule_removed_from_the_manifest_resolves_its_alerts(store: Store) -> None:
    write_404s(store, until=100)
    evaluator = AlertEvaluator(store, "notes", "dev", spec(**{}))
    evaluator.evaluate(at(15))
    evaluator.evaluate(at(20))
    assert states(store) == ["firing"]
    other = {"name": "Other", "expr": "vector(0) > 1"}
    AlertEvaluator(store, "notes", "dev", spec("http://127.0.0.1:9", other)).evaluate(at(25))
    (alert,) = store.alerts.instances("notes", "dev")
    assert alert.rule == "TooMany4xx" and alert.state == "resolved"


def test_log_rules_count_matching_lines_over_their_window(store: Store) -> None:
    lines = [
        LogLine("notes", "dev", "api", "stdout", "error", T0 + s, f"ERROR db timeout {s}")
        for s in (1, 2, 3, 4)
    ] + [LogLine("notes", "dev", "web", "stdout", "error", T0 + 2, "ERROR elsewhere")]
    log_repository(store).append(lines)
    rules = [
        {
            "name": "DbErrors",
            "log": {"pattern": "ERROR db", "service": "api", "window": "10s", "count": 3},
            "annotations": {"summary": "{{ $value }} lines"},
        },
        {"name": "AnyErrors", "log": {"pattern": "^ERROR", "window": "10s", "rate": "0.6/s"}},
    ]
    evaluator = AlertEvaluator(store, "notes", "dev", spec("http://127.0.0.1:9", *rules))
    assert evaluator.evaluate(at(5)) == []
    found = {a.rule: a for a in store.alerts.instances("notes", "dev")}
    assert set(found) == {"DbErrors"}  # 5 lines / 10 s = 0.5/s is not above 0.6/s
    assert found["DbErrors"].state == "firing"
    assert found["DbErrors"].labels["service"] == "api"
    assert found["DbErrors"].annotations == {"summary": "4 lines"}
    evaluator.evaluate(at(20))  # the lines left the window
    assert states(store) == ["resolved"]


def test_notifications_flow_from_the_store_to_the_webhook(
    store: Store, webhook: RecordingHttpServer
) -> None:
    write_404s(store, until=30)
    evaluator = AlertEvaluator(store, "notes", "dev", spec(webhook.url))
    for second in (15, 20):
        evaluator.evaluate(at(second))
        evaluator.dispatch(at(second), wait_for_delivery=True)
    assert webhook.received == []  # group_wait (2 s) runs from the first firing alert
    evaluator.dispatch(at(22), wait_for_delivery=True)
    (first,) = [r.body for r in webhook.received]
    assert first["status"] == "firing" and first["receiver"] == "ops"
    assert first["alerts"][0]["labels"]["alertname"] == "TooMany4xx"
    assert first["alerts"][0]["startsAt"] == "2027-01-15T08:00:20.000Z"
    for second in (25, 27, 32):  # unchanged: no repeat within repeat_interval
        evaluator.evaluate(at(second))
        evaluator.dispatch(at(second), wait_for_delivery=True)
    assert len(webhook.received) == 1
    evaluator.evaluate(at(45))
    evaluator.dispatch(at(45), wait_for_delivery=True)
    assert [r.body["status"] for r in webhook.received] == ["firing", "resolved"]
    resolved = webhook.received[1].body["alerts"][0]
    assert resolved["status"] == "resolved" and resolved["endsAt"] == "2027-01-15T08:00:45.000Z"
    assert resolved["fingerprint"] == first["alerts"][0]["fingerprint"]
    attempts = store.alerts.attempts("notes", "dev")
    assert [(a.status, a.outcome) for a in attempts] == [("resolved", "sent"), ("firing", "sent")]
    evaluator.close()


def test_silenced_alerts_are_not_notified(store: Store, webhook: RecordingHttpServer) -> None:
    from shipway.monitor.alerts.model import Matcher

    write_404s(store, until=100)
    store.alerts.add_silence(
        "notes",
        "dev",
        [Matcher.parse("alertname=TooMany4xx")],
        starts_at=at(0),
        ends_at=at(40),
        author="ana",
        comment="load test",
        now=at(0),
    )
    evaluator = AlertEvaluator(store, "notes", "dev", spec(webhook.url))
    for second in range(15, 36, 5):
        evaluator.evaluate(at(second))
        evaluator.dispatch(at(second), wait_for_delivery=True)
    assert states(store) == ["firing"] and webhook.received == []
    for second in (40, 45):  # the silence ended at 40 s: the next flush sends
        evaluator.evaluate(at(second))
        evaluator.dispatch(at(second), wait_for_delivery=True)
    assert [r.body["status"] for r in webhook.received] == ["firing"]
    evaluator.close()


def test_a_failed_delivery_is_reported_and_retried_at_the_next_flush(store: Store) -> None:
    write_404s(store, until=100)
    reports: list[str] = []
    with http_server(fail_first=1, fail_status=404) as server:
        evaluator = AlertEvaluator(store, "notes", "dev", spec(server.url), report=reports.append)
        for second in (15, 20, 22):
            evaluator.evaluate(at(second))
            evaluator.dispatch(at(second), wait_for_delivery=True)
        assert reports == [
            "notes/dev: notification to 'ops' failed after 1 attempt(s): HTTP 404: try later"
        ]
        assert server.received == []
        evaluator.dispatch(at(26), wait_for_delivery=True)  # not due before 22 + 5 s
        assert server.received == []
        evaluator.dispatch(at(27), wait_for_delivery=True)
        assert [r.body["status"] for r in server.received] == ["firing"]
        evaluator.close()
    outcomes = [a.outcome for a in store.alerts.attempts("notes", "dev")]
    assert outcomes == ["sent", "failed"]
