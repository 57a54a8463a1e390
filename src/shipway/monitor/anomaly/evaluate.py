"""Evaluating one anomaly rule of one environment at one instant.

Each series the rule's query gives is judged at its newest point by every detector of
the rule. What comes out:
- an `anomalies` row per anomalous point and detector (once: a point evaluated again adds
  nothing);
- an ANOMALY_DETECTED event for each new row. Events belong to a deployment: the
  anomaly is attached to the deployment of the release serving the environment (else
  its newest deployment), which is the change most likely to explain it; without any
  deployment there is no event, only the row;
- the series `shipway_anomaly{metric=RULE, detector=D, <series labels>}`, 1 while the
  point is anomalous and 0 otherwise, and `shipway_anomaly_score` (the score in standard
  deviations), written with `write_samples` so alert rules can use them.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shipway.manifest.monitoring import AnomalyRule, MonitoringSpec
from shipway.monitor.anomaly.detectors import (
    DAY,
    SEASONAL_DAYS,
    Judgement,
    ewma,
    robust_zscore,
    seasonal,
)
from shipway.monitor.query import range_query, write_samples

if TYPE_CHECKING:
    from shipway.store import Store

ANOMALY_DETECTED = "ANOMALY_DETECTED"
ANOMALY_METRIC = "shipway_anomaly"
SCORE_METRIC = "shipway_anomaly_score"
#: Half of the "same hour" the seasonal detector looks at on each previous day.
SEASONAL_HALF_WIDTH = 1800.0


@dataclass(frozen=True)
class Evaluation:
    """One series at one point, as one detector judged it."""

    rule: str
    labels: dict[str, str]
    at: float
    judgement: Judgement


def series_key(labels: Mapping[str, str]) -> str:
    text = json.dumps(dict(sorted(labels.items())), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def evaluate_rule(
    store: Store,
    project: str,
    environment: str,
    rule: AnomalyRule,
    now: float,
    monitoring: MonitoringSpec | None = None,
) -> list[Evaluation]:
    """Judge the newest point of every series of `rule` with each of its detectors."""
    window, step = float(rule.window), float(rule.step)
    found = range_query(
        store, project, environment, rule.query, now - window, now, step, monitoring=monitoring
    )
    previous_days = (
        _previous_days(store, project, environment, rule, now, monitoring)
        if "seasonal" in rule.detectors
        else {}
    )
    evaluations = []
    for labels, points in found:
        finite = [(t, v) for t, v in points if math.isfinite(v)]
        if not finite or finite[-1][0] < now - step:
            continue  # the series has no fresh point to judge
        at, value = finite[-1]
        history = [v for _, v in finite[:-1]]
        clean = {k: v for k, v in labels.items() if k != "__name__"}
        for detector in rule.detectors:
            judgement: Judgement | None
            if detector == "zscore":
                judgement = robust_zscore(history, value, rule.threshold)
            elif detector == "ewma":
                judgement = ewma(history, value, rule.threshold, rule.smoothing)
            else:
                days = previous_days.get(series_key(clean), [])
                judgement = seasonal(days, value, rule.threshold)
            if judgement is not None:
                evaluations.append(Evaluation(rule.name, clean, at, judgement))
    return evaluations


def _previous_days(
    store: Store,
    project: str,
    environment: str,
    rule: AnomalyRule,
    now: float,
    monitoring: MonitoringSpec | None,
) -> dict[str, list[list[float]]]:
    """Per series, the values around this time of day on each of the previous days."""
    by_series: dict[str, list[list[float]]] = {}
    for day in range(1, SEASONAL_DAYS + 1):
        center = now - day * DAY
        found = range_query(
            store,
            project,
            environment,
            rule.query,
            center - SEASONAL_HALF_WIDTH,
            center + SEASONAL_HALF_WIDTH,
            float(rule.step),
            monitoring=monitoring,
        )
        for labels, points in found:
            clean = {k: v for k, v in labels.items() if k != "__name__"}
            values = [v for _, v in points if math.isfinite(v)]
            if values:
                by_series.setdefault(series_key(clean), []).append(values)
    return by_series


def record(
    store: Store, project: str, environment: str, evaluations: Sequence[Evaluation], now: float
) -> int:
    """Store the anomalies, append their events and write the anomaly series; returns how
    many anomalies were new."""
    deployment = _deployment_of(store, project, environment)
    new = 0
    samples = []
    for ev in evaluations:
        j = ev.judgement
        series = {**ev.labels, "metric": ev.rule, "detector": j.detector}
        samples.append((ANOMALY_METRIC, series, now, 1.0 if j.anomalous else 0.0))
        samples.append((SCORE_METRIC, series, now, j.score))
        if not j.anomalous:
            continue
        row = store.analyses.record_anomaly(
            project=project,
            environment=environment,
            rule=ev.rule,
            detector=j.detector,
            series_key=series_key(ev.labels),
            labels=ev.labels,
            at=ev.at,
            value=j.value,
            expected=j.expected,
            score=j.score,
            deployment_id=deployment[0] if deployment else None,
        )
        if row is None:
            continue
        new += 1
        if deployment is not None:
            store.events.append(
                deployment[0],
                deployment[1],
                ANOMALY_DETECTED,
                message=_describe(ev),
                data={
                    "rule": ev.rule,
                    "detector": j.detector,
                    "labels": ev.labels,
                    "at": ev.at,
                    "value": j.value,
                    "expected": j.expected,
                    "score": j.score,
                    "environment": environment,
                },
                dedupe_key=f"anomaly:{row.id}",
            )
    if samples:
        write_samples(store, project, environment, samples)
    return new


def _describe(ev: Evaluation) -> str:
    j = ev.judgement
    labels = ",".join(f"{k}={v}" for k, v in sorted(ev.labels.items()))
    where = f"{{{labels}}}" if labels else ""
    return (
        f"{ev.rule}{where}: {j.value:.4g} where {j.expected:.4g} was expected "
        f"({j.detector}, {j.score:+.1f} sigma)"
    )


def _deployment_of(store: Store, project: str, environment: str) -> tuple[str, str] | None:
    """(id, correlation id) of the deployment whose release serves the environment, else
    of its newest deployment."""
    active = store.releases.active(project, environment)
    if active is not None:
        record_ = store.deployments.get(active.deployment_id)
        return record_.id, record_.correlation_id
    newest = store.deployments.list(project=project, environment=environment, limit=1)
    return (newest[0].id, newest[0].correlation_id) if newest else None
