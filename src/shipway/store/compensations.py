"""The `compensations` table: the undo steps of the rollback saga.

Each stage that changes the world registers how to undo it; a rollback runs the pending
ones newest first (the reverse of registration) and marks each done or failed.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from shipway.errors import NotFoundError
from shipway.store.engine import StoreEngine
from shipway.store.records import (
    COMPENSATION_STATUSES,
    CompensationRecord,
    CompensationStatus,
    check_choice,
    utc_now,
)
from shipway.store.tables import compensations


def _record(row: sa.Row[Any]) -> CompensationRecord:
    return CompensationRecord(**row._mapping)


class CompensationRepository:
    """Register, list and settle compensations."""

    def __init__(self, db: StoreEngine) -> None:
        self._db = db

    def register(self, deployment_id: str, stage: str, data: dict[str, Any]) -> int:
        """Record how to undo what `stage` did; returns the compensation's id."""
        statement = (
            compensations.insert()
            .values(
                deployment_id=deployment_id,
                stage=stage,
                data=data,
                status="registered",
                registered_at=utc_now(),
            )
            .returning(compensations.c.id)
        )
        with self._db.write("register compensation") as conn:
            return int(conn.execute(statement).scalar_one())

    def pending(self, deployment_id: str) -> list[CompensationRecord]:
        """Compensations still to run, newest first (the order a rollback runs them)."""
        query = (
            sa.select(compensations)
            .where(
                compensations.c.deployment_id == deployment_id,
                compensations.c.status == "registered",
            )
            .order_by(compensations.c.id.desc())
        )
        with self._db.read("list pending compensations") as conn:
            return [_record(row) for row in conn.execute(query)]

    def mark(
        self, compensation_id: int, status: CompensationStatus, error: str | None = None
    ) -> CompensationRecord:
        """Settle a compensation as done or failed (or put it back to registered)."""
        check_choice(status, COMPENSATION_STATUSES, "compensation status")
        finished_at = None if status == "registered" else utc_now()
        with self._db.write("mark compensation") as conn:
            row = conn.execute(
                compensations.update()
                .where(compensations.c.id == compensation_id)
                .values(status=status, error=error, finished_at=finished_at)
                .returning(*compensations.c)
            ).first()
        if row is None:
            raise NotFoundError(f"no compensation {compensation_id}")
        return _record(row)

    def list(self, deployment_id: str) -> list[CompensationRecord]:
        """Every compensation of a deployment, in registration order."""
        query = (
            sa.select(compensations)
            .where(compensations.c.deployment_id == deployment_id)
            .order_by(compensations.c.id)
        )
        with self._db.read("list compensations") as conn:
            return [_record(row) for row in conn.execute(query)]
