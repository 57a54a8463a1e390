"""What a rule's condition returns at one instant: the samples of its PromQL expression
(through `monitor/query.py`), or for a log-based rule the count (or rate) of matching
lines over its window (through `monitor/logs`), when above the rule's threshold."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipway.manifest.monitoring import AlertRule, LogCondition, MonitoringSpec
from shipway.monitor.alerts.states import Sample
from shipway.monitor.logs import count_lines
from shipway.monitor.query import instant_query

if TYPE_CHECKING:
    from shipway.store import Store


def rule_samples(
    store: Store,
    project: str,
    environment: str,
    rule: AlertRule,
    at: float,
    monitoring: MonitoringSpec | None = None,
) -> list[Sample]:
    """The samples for which the rule's condition holds at `at` (Unix seconds)."""
    if rule.log is not None:
        return log_samples(store, project, environment, rule.log, at)
    assert rule.expr is not None
    found = instant_query(store, project, environment, rule.expr, at, monitoring=monitoring)
    return [(labels, value) for labels, value in found]


def log_samples(
    store: Store, project: str, environment: str, condition: LogCondition, at: float
) -> list[Sample]:
    """One sample (labelled with the service, if any) when the matching lines in the
    window exceed `count`, or their rate per second exceeds `rate`; none otherwise."""
    window = float(condition.window)
    lines = count_lines(
        store,
        project,
        environment,
        pattern=condition.pattern,
        since=at - window,
        until=at,
        service=condition.service,
    )
    if condition.count is not None:
        value, threshold = float(lines), float(condition.count)
    else:
        assert condition.rate is not None
        value, threshold = lines / window, float(condition.rate)
    labels = {"service": condition.service} if condition.service else {}
    return [(labels, value)] if value > threshold else []
