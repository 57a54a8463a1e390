"""The `anomalies` and `analyses` tables: what anomaly detection found in watched series,
and the verdicts of post-release analyses (monitor/anomaly, monitor/analysis).

An anomaly is recorded once per rule, detector, series and point: a collector that
evaluates the same point again (after a restart) adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from shipway.store.engine import StoreEngine
from shipway.store.records import utc_now
from shipway.store.tables import analyses, anomalies


@dataclass(frozen=True)
class AnomalyRecord:
    """One anomalous point of one series, as one detector saw it."""

    id: int
    project: str
    environment: str
    rule: str
    detector: str
    series_key: str
    labels: dict[str, str]
    at: float
    value: float
    expected: float
    score: float
    deployment_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class AnalysisRecord:
    """The verdict of one post-release analysis, with each metric's verdict."""

    id: int
    deployment_id: str
    project: str
    environment: str
    release_id: str
    baseline_release_id: str | None
    verdict: str
    score: float | None
    reason: str
    metrics: list[dict[str, Any]]
    windows: dict[str, Any]
    created_at: datetime


class AnalysisRepository:
    """Record and list anomalies and post-release analyses."""

    def __init__(self, db: StoreEngine) -> None:
        self._db = db

    def record_anomaly(
        self,
        *,
        project: str,
        environment: str,
        rule: str,
        detector: str,
        series_key: str,
        labels: dict[str, str],
        at: float,
        value: float,
        expected: float,
        score: float,
        deployment_id: str | None,
    ) -> AnomalyRecord | None:
        """Store one anomaly; None when this point was recorded before."""
        values = {
            "project": project,
            "environment": environment,
            "rule": rule,
            "detector": detector,
            "series_key": series_key,
            "labels": dict(labels),
            "at": at,
            "value": value,
            "expected": expected,
            "score": score,
            "deployment_id": deployment_id,
            "created_at": utc_now(),
        }
        statement = (
            self._db.insert(anomalies)
            .values(values)
            .on_conflict_do_nothing(
                index_elements=["project", "environment", "rule", "detector", "series_key", "at"]
            )
            .returning(*anomalies.c)
        )
        with self._db.write("record anomaly") as conn:
            row = conn.execute(statement).first()
        return None if row is None else AnomalyRecord(**row._mapping)

    def anomalies(
        self,
        project: str,
        environment: str,
        *,
        since: float | None = None,
        rule: str | None = None,
        limit: int = 1000,
    ) -> list[AnomalyRecord]:
        """Anomalies of an environment, newest first."""
        query = sa.select(anomalies).where(
            anomalies.c.project == project, anomalies.c.environment == environment
        )
        if since is not None:
            query = query.where(anomalies.c.at >= since)
        if rule is not None:
            query = query.where(anomalies.c.rule == rule)
        query = query.order_by(anomalies.c.at.desc(), anomalies.c.id.desc()).limit(limit)
        with self._db.read("list anomalies") as conn:
            return [AnomalyRecord(**row._mapping) for row in conn.execute(query)]

    def record_analysis(
        self,
        *,
        deployment_id: str,
        project: str,
        environment: str,
        release_id: str,
        baseline_release_id: str | None,
        verdict: str,
        score: float | None,
        reason: str,
        metrics: list[dict[str, Any]],
        windows: dict[str, Any],
    ) -> AnalysisRecord:
        values = {
            "deployment_id": deployment_id,
            "project": project,
            "environment": environment,
            "release_id": release_id,
            "baseline_release_id": baseline_release_id,
            "verdict": verdict,
            "score": score,
            "reason": reason,
            "metrics": metrics,
            "windows": windows,
            "created_at": utc_now(),
        }
        with self._db.write("record analysis") as conn:
            row = conn.execute(analyses.insert().values(values).returning(*analyses.c)).one()
        return AnalysisRecord(**row._mapping)

    def analyses(
        self,
        project: str,
        environment: str | None = None,
        *,
        deployment_id: str | None = None,
        limit: int = 100,
    ) -> list[AnalysisRecord]:
        """Analyses of a project (or one environment, or one deployment), newest first."""
        query = sa.select(analyses).where(analyses.c.project == project)
        if environment is not None:
            query = query.where(analyses.c.environment == environment)
        if deployment_id is not None:
            query = query.where(analyses.c.deployment_id == deployment_id)
        query = query.order_by(analyses.c.id.desc()).limit(limit)
        with self._db.read("list analyses") as conn:
            return [AnalysisRecord(**row._mapping) for row in conn.execute(query)]
