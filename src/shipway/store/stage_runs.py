"""The `stage_runs` table: the checkpoint of each stage of each deployment.

A crashed run resumes from these rows: which stages finished, with which outputs, and
how many times each was attempted. Every write is an upsert keyed (deployment, stage), so
the runner never has to know whether a row exists yet.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from shipway.store.engine import StoreEngine
from shipway.store.records import STAGE_STATUSES, StageRunRecord, StageStatus, check_choice, utc_now
from shipway.store.tables import stage_runs

_KEY = ["deployment_id", "stage"]


def _record(row: sa.Row[Any]) -> StageRunRecord:
    return StageRunRecord(**row._mapping)


class StageRunRepository:
    """Start, finish and list the stage runs of a deployment."""

    def __init__(self, db: StoreEngine) -> None:
        self._db = db

    def start(self, deployment_id: str, stage: str) -> StageRunRecord:
        """Mark a stage running and count one more attempt (creating its row if needed)."""
        now = utc_now()
        insert = self._db.insert(stage_runs).values(
            deployment_id=deployment_id,
            stage=stage,
            status="running",
            attempts=1,
            started_at=now,
            finished_at=None,
            error=None,
            outputs={},
        )
        statement = insert.on_conflict_do_update(
            index_elements=_KEY,
            set_={
                "status": "running",
                "attempts": stage_runs.c.attempts + 1,
                "started_at": insert.excluded.started_at,
                "finished_at": None,
                "error": None,
                "outputs": insert.excluded.outputs,
            },
        ).returning(*stage_runs.c)
        with self._db.write("start stage") as conn:
            return _record(conn.execute(statement).one())

    def finish(
        self,
        deployment_id: str,
        stage: str,
        status: StageStatus,
        *,
        error: str | None = None,
        outputs: dict[str, Any] | None = None,
    ) -> StageRunRecord:
        """Record how a stage ended and what it produced; a stage that never started
        (skipped before running) gets a row with no attempts."""
        check_choice(status, STAGE_STATUSES, "stage status")
        insert = self._db.insert(stage_runs).values(
            deployment_id=deployment_id,
            stage=stage,
            status=status,
            attempts=0,
            started_at=None,
            finished_at=utc_now(),
            error=error,
            outputs=outputs or {},
        )
        changes: dict[str, Any] = {
            "status": status,
            "finished_at": insert.excluded.finished_at,
            "error": error,
        }
        if outputs is not None:
            changes["outputs"] = insert.excluded.outputs
        statement = insert.on_conflict_do_update(index_elements=_KEY, set_=changes).returning(
            *stage_runs.c
        )
        with self._db.write("finish stage") as conn:
            return _record(conn.execute(statement).one())

    def set_status(
        self, deployment_id: str, stage: str, status: StageStatus, error: str | None = None
    ) -> StageRunRecord:
        """Set a stage's status without starting it (skipped, pending, compensated...)."""
        check_choice(status, STAGE_STATUSES, "stage status")
        insert = self._db.insert(stage_runs).values(
            deployment_id=deployment_id,
            stage=stage,
            status=status,
            attempts=0,
            error=error,
            outputs={},
        )
        changes: dict[str, Any] = {"status": status}
        if error is not None:
            changes["error"] = error
        statement = insert.on_conflict_do_update(index_elements=_KEY, set_=changes).returning(
            *stage_runs.c
        )
        with self._db.write("set stage status") as conn:
            return _record(conn.execute(statement).one())

    def list(self, deployment_id: str) -> list[StageRunRecord]:
        """The deployment's stage runs in the order they (last) started; never-started
        stages (skipped, pending) come last."""
        query = (
            sa.select(stage_runs)
            .where(stage_runs.c.deployment_id == deployment_id)
            .order_by(sa.nulls_last(stage_runs.c.started_at.asc()), stage_runs.c.stage)
        )
        with self._db.read("list stage runs") as conn:
            return [_record(row) for row in conn.execute(query)]
