"""The state machine of alert instances, step by step with explicit times, as
Prometheus's alerting rules behave: pending while `for` has not elapsed, firing, resolved
and kept for a while, and new instances for label sets that come back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shipway.manifest.monitoring import AlertRule
from shipway.monitor.alerts.model import Alert, Matcher, fingerprint
from shipway.monitor.alerts.states import DuplicateLabelsError, advance
from shipway.monitor.alerts.templates import expand, format_value

T0 = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)
RETENTION = 900.0


def rule(**extra: object) -> AlertRule:
    return AlertRule.model_validate(
        {
            "name": "HighErrorRate",
            "expr": "rate(errors_total[1m]) > 1",
            "for": "30s",
            "severity": "critical",
            **extra,
        }
    )


def step(r: AlertRule, before: list[Alert], samples: list, seconds: float) -> list[Alert]:
    return advance(r, "notes", "dev", before, samples, T0 + timedelta(seconds=seconds), RETENTION)


def test_pending_until_for_elapses_then_firing() -> None:
    r = rule()
    sample = ({"__name__": "errors_total", "instance": "a"}, 2.0)
    (a,) = step(r, [], [sample], 0)
    assert a.state == "pending" and a.active_at == T0 and a.fired_at is None
    assert a.labels == {"instance": "a", "severity": "critical", "alertname": "HighErrorRate"}
    (a,) = step(r, [a], [sample], 15)
    assert a.state == "pending" and a.active_at == T0
    (a,) = step(r, [a], [({"instance": "a"}, 3.0)], 30)
    assert a.state == "firing" and a.fired_at == T0 + timedelta(seconds=30)
    assert a.value == 3.0 and a.active_at == T0


def test_for_zero_fires_on_the_first_evaluation() -> None:
    (a,) = step(rule(**{"for": "0s"}), [], [({}, 1.5)], 0)
    assert a.state == "firing" and a.fired_at == a.active_at == T0


def test_a_pending_alert_that_stops_is_dropped() -> None:
    r = rule()
    pending = step(r, [], [({"instance": "a"}, 2.0)], 0)
    assert step(r, pending, [], 15) == []


def test_firing_resolves_and_is_kept_for_the_retention() -> None:
    r = rule(**{"for": "0s"})
    firing = step(r, [], [({"instance": "a"}, 2.0)], 0)
    (resolved,) = step(r, firing, [], 15)
    assert resolved.state == "resolved"
    assert resolved.resolved_at == T0 + timedelta(seconds=15)
    assert resolved.fired_at == T0
    (kept,) = step(r, [resolved], [], 15 + RETENTION - 1)
    assert kept == resolved
    assert step(r, [kept], [], 15 + RETENTION) == []


def test_a_label_set_that_comes_back_starts_a_new_pending_alert() -> None:
    r = rule()
    a = step(r, [], [({"instance": "a"}, 2.0)], 0)
    a = step(r, a, [({"instance": "a"}, 2.0)], 30)
    assert a[0].state == "firing"
    a = step(r, a, [], 45)
    assert a[0].state == "resolved"
    both = step(r, a, [({"instance": "a"}, 2.0)], 60)
    (again,) = [x for x in both if x.state == "pending"]
    assert again.active_at == T0 + timedelta(seconds=60)
    assert again.resolved_at is None and again.fired_at is None
    # The resolved instance stays beside it (same labels) until its retention ends.
    (old,) = [x for x in both if x.state == "resolved"]
    assert old.fingerprint == again.fingerprint and old.active_at == T0
    later = step(r, both, [({"instance": "a"}, 2.0)], 45 + RETENTION)
    assert [x.state for x in later] == ["firing"]


def test_each_label_set_is_its_own_instance() -> None:
    r = rule()
    both = step(r, [], [({"instance": "a"}, 2.0), ({"instance": "b"}, 5.0)], 0)
    assert {a.labels["instance"] for a in both} == {"a", "b"}
    (b,) = step(r, both, [({"instance": "b"}, 5.0)], 30)
    assert b.labels["instance"] == "b" and b.state == "firing"


def test_labels_and_annotations_are_templated() -> None:
    r = rule(
        labels={"team": "api", "where": "{{ $labels.instance }}"},
        annotations={
            "summary": "{{ $labels.instance }} errors at {{ $value }}/s",
            "missing": "{{$labels.nope}}",
        },
    )
    (a,) = step(r, [], [({"instance": "web-1"}, 2.5)], 0)
    assert a.labels["team"] == "api" and a.labels["where"] == "web-1"
    assert a.annotations == {"summary": "web-1 errors at 2.5/s", "missing": "<no value>"}
    (a,) = step(r, [a], [({"instance": "web-1"}, 4.0)], 10)
    assert a.annotations["summary"] == "web-1 errors at 4/s"


def test_the_rule_can_set_severity_and_two_equal_label_sets_are_an_error() -> None:
    (a,) = step(rule(labels={"severity": "page"}), [], [({}, 1.0)], 0)
    assert a.labels["severity"] == "page"
    with pytest.raises(DuplicateLabelsError):
        step(
            rule(labels={"instance": "x"}), [], [({"instance": "a"}, 1), ({"instance": "b"}, 1)], 0
        )


def test_values_print_as_prometheus_prints_them() -> None:
    assert [format_value(v) for v in (2.0, 0.25, 1e21, float("nan"), float("-inf"))] == [
        "2",
        "0.25",
        "1e+21",
        "NaN",
        "-Inf",
    ]
    assert expand("{{ $value }} {{ $labels.a }}", {"a": "x"}, 1.5) == "1.5 x"


def test_fingerprints_are_prometheus_label_set_fingerprints() -> None:
    # FNV-1a 64 of nothing is the offset basis; of one label, bytes name 0xff value 0xff.
    assert fingerprint({}) == "cbf29ce484222325"
    assert fingerprint({"a": "b"}) == fingerprint({"a": "b"})
    assert fingerprint({"a": "b", "c": "d"}) == fingerprint({"c": "d", "a": "b"})
    assert fingerprint({"a": "bc"}) != fingerprint({"ab": "c"})


def test_matchers_parse_and_match_like_alertmanager() -> None:
    labels = {"alertname": "HighErrorRate", "severity": "critical"}
    assert Matcher.parse("alertname=HighErrorRate").matches(labels)
    assert Matcher.parse('severity=~"crit.*"').matches(labels)
    assert not Matcher.parse("severity=~crit").matches(labels)  # anchored
    assert Matcher.parse("severity!=info").matches(labels)
    assert not Matcher.parse("severity!~critical|warning").matches(labels)
    assert Matcher.parse("team=").matches(labels)  # an absent label is empty
