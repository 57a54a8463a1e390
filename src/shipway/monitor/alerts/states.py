"""The state machine of one rule's alert instances, as Prometheus's alerting rules run it.

At each evaluation the rule's condition returns a vector (label set -> value):
- a label set that is not active yet becomes *pending* (`active_at` = now);
- a pending instance whose condition held for the rule's `for` becomes *firing` (with
  `for: 0s` on the evaluation that made it pending);
- a pending instance whose label set is gone becomes inactive (dropped);
- a firing instance whose label set is gone becomes *resolved* (`resolved_at` = now) and
  is kept for `resolved_retention` so its resolution can be notified and listed; if the
  label set comes back meanwhile, a new instance starts pending, as in Prometheus (the
  resolved one stays beside it until its retention ends).
The function is pure: the evaluator loads the previous instances and stores the result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from shipway.manifest.monitoring import AlertRule
from shipway.monitor.alerts.model import Alert, fingerprint
from shipway.monitor.alerts.templates import expand_all

Sample = tuple[Mapping[str, str], float]


class DuplicateLabelsError(ValueError):
    """Two samples of one evaluation have the same label set once the rule's labels are
    added (Prometheus fails the evaluation the same way)."""


def alert_labels(rule: AlertRule, labels: Mapping[str, str], value: float) -> dict[str, str]:
    """The instance's labels: the sample's without `__name__`, the rule's (templated),
    `severity` unless the rule sets it, and `alertname`."""
    out = {k: v for k, v in labels.items() if k != "__name__"}
    out.update(expand_all(rule.labels, labels, value))
    out.setdefault("severity", rule.severity)
    out["alertname"] = rule.name
    return out


def advance(
    rule: AlertRule,
    project: str,
    environment: str,
    previous: Iterable[Alert],
    samples: Iterable[Sample],
    now: datetime,
    resolved_retention: float,
) -> list[Alert]:
    """The rule's instances after an evaluation at `now` that returned `samples`. An
    instance missing from the result is inactive. A resolved instance stays beside a new
    pending one for the same labels until its retention ends, so its resolution can
    still be notified (Alertmanager would have received it)."""
    before = {alert.fingerprint: alert for alert in previous if alert.state != "resolved"}
    kept = [
        alert
        for alert in previous
        if alert.state == "resolved"
        and alert.resolved_at is not None
        and now - alert.resolved_at < timedelta(seconds=resolved_retention)
    ]
    current: dict[str, Alert] = {}
    for labels, value in samples:
        full = alert_labels(rule, labels, value)
        key = fingerprint(full)
        if key in current:
            raise DuplicateLabelsError(
                f"rule {rule.name!r}: two samples share the labels {full} after the rule's "
                "labels are added"
            )
        annotations = expand_all(rule.annotations, labels, value)
        old = before.get(key)
        if old is not None:
            current[key] = replace(
                old, labels=full, annotations=annotations, value=value, evaluated_at=now
            )
        else:
            current[key] = Alert(
                project=project,
                environment=environment,
                rule=rule.name,
                labels=full,
                annotations=annotations,
                state="pending",
                value=value,
                active_at=now,
                evaluated_at=now,
                fingerprint=key,
            )
    for key, old in before.items():
        if key not in current and old.state == "firing":
            kept.append(replace(old, state="resolved", resolved_at=now, evaluated_at=now))
    hold = timedelta(seconds=float(rule.for_))
    for key, alert in current.items():
        if alert.state == "pending" and now - alert.active_at >= hold:
            current[key] = replace(alert, state="firing", fired_at=now)
    return sorted([*current.values(), *kept], key=lambda a: (a.fingerprint, a.active_at))
