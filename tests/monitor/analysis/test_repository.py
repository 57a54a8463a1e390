"""The `analyses` table on SQLite and PostgreSQL: analyses are kept per deployment,
listed newest first, and go with their deployment."""

from __future__ import annotations

import pytest

from shipway.errors import StoreError
from shipway.store import Store
from shipway.store.records import DeploymentRecord


def _record(store: Store, deployment: str, verdict: str, score: float | None) -> None:
    store.analyses.record_analysis(
        deployment_id=deployment,
        project="notes",
        environment="dev",
        release_id=f"notes-dev-{deployment}",
        baseline_release_id=None if score is None else "notes-dev-r1",
        verdict=verdict,
        score=score,
        reason="because",
        metrics=[{"name": "error_rate", "verdict": "high", "pvalue": 0.001}],
        windows={"new": {"start": 1.0, "end": 9.0}},
    )


def test_analyses_are_kept_and_listed_newest_first(metrics_store: Store) -> None:
    store = metrics_store
    for dep in ("d1", "d2"):
        store.deployments.create(DeploymentRecord(id=dep, project="notes", environment="dev"))
    _record(store, "d1", "pass", 100.0)
    _record(store, "d2", "inconclusive", None)
    listed = store.analyses.analyses("notes", "dev")
    assert [(a.deployment_id, a.verdict, a.score) for a in listed] == [
        ("d2", "inconclusive", None),
        ("d1", "pass", 100.0),
    ]
    assert listed[1].metrics == [{"name": "error_rate", "verdict": "high", "pvalue": 0.001}]
    assert listed[1].windows == {"new": {"start": 1.0, "end": 9.0}}
    assert listed[1].created_at.tzinfo is not None
    (only,) = store.analyses.analyses("notes", deployment_id="d1")
    assert only.baseline_release_id == "notes-dev-r1"
    assert store.analyses.analyses("notes", "prod") == []


def test_an_analysis_needs_its_deployment(metrics_store: Store) -> None:
    with pytest.raises(StoreError, match="record analysis failed"):
        _record(metrics_store, "missing", "fail", 0.0)
