"""The `executors` table: which agents and workers are alive to run deployments.

Each executor upserts its row on a heartbeat; the CLI asks whether any executor beat
recently before deciding to start a local agent (team mode runs without one).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from shipway.store.engine import StoreEngine
from shipway.store.records import ExecutorRecord, utc_now
from shipway.store.tables import executors


def _record(row: sa.Row[Any]) -> ExecutorRecord:
    return ExecutorRecord(**row._mapping)


class ExecutorRepository:
    """Heartbeats of the processes that own DBOS executors."""

    def __init__(self, db: StoreEngine) -> None:
        self._db = db

    def heartbeat(self, executor_id: str, *, kind: str, host: str, pid: int, version: str) -> None:
        """Say that `executor_id` is alive now (a new process resets `started_at`)."""
        now = utc_now()
        insert = self._db.insert(executors).values(
            id=executor_id,
            kind=kind,
            host=host,
            pid=pid,
            version=version,
            started_at=now,
            heartbeat_at=now,
        )
        statement = insert.on_conflict_do_update(
            index_elements=["id"],
            set_={
                "kind": insert.excluded.kind,
                "host": insert.excluded.host,
                "version": insert.excluded.version,
                "heartbeat_at": insert.excluded.heartbeat_at,
                "started_at": sa.case(
                    (executors.c.pid == insert.excluded.pid, executors.c.started_at),
                    else_=insert.excluded.started_at,
                ),
                "pid": insert.excluded.pid,
            },
        )
        with self._db.write("record executor heartbeat") as conn:
            conn.execute(statement)

    def live(self, within: float) -> list[ExecutorRecord]:
        """Executors whose last heartbeat is at most `within` seconds old."""
        since = utc_now() - timedelta(seconds=within)
        query = (
            sa.select(executors).where(executors.c.heartbeat_at >= since).order_by(executors.c.id)
        )
        with self._db.read("list live executors") as conn:
            return [_record(row) for row in conn.execute(query)]

    def remove(self, executor_id: str) -> None:
        """Forget an executor that stopped cleanly."""
        with self._db.write("remove executor") as conn:
            conn.execute(executors.delete().where(executors.c.id == executor_id))
