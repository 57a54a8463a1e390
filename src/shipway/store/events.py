"""The append-only event log: every consumer reads it from a cursor (the event id).

The log guarantees that a reader polling `read(after=cursor)` never misses an event:
ids become visible in ascending order. SQLite gives that for free (one writer at a time).
On PostgreSQL a sequence hands out ids before commit, so two appenders could commit out
of order and a reader could skip the earlier id; every append therefore takes one
transaction-scoped advisory lock before drawing its id, making commit order equal id
order. There is deliberately no update or delete API.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipway.store.engine import StoreEngine
from shipway.store.records import EventRecord, NewEvent, utc_now
from shipway.store.tables import events

# NOTE: an arbitrary constant shared by every shipway process: the advisory lock id that
# serialises event appends on one PostgreSQL database (see the module docstring).
PG_EVENT_LOCK_ID = 0x5348_4950_4576


def _record(row: sa.Row[Any]) -> EventRecord:
    return EventRecord(**row._mapping)


class EventLog:
    """Append events and read them back in id order."""

    def __init__(self, db: StoreEngine) -> None:
        self._db = db
        # NOTE: built once: the statements are then served from SQLAlchemy's compiled
        # cache, which keeps the per-event cost close to the raw driver's.
        self._insert = (
            db.insert(events)
            .on_conflict_do_nothing(index_elements=["deployment_id", "dedupe_key"])
            .returning(events.c.id)
        )
        self._lock: sa.Select[Any] | None = None
        if db.dialect == "postgresql":
            self._lock = sa.select(sa.func.pg_advisory_xact_lock(PG_EVENT_LOCK_ID))

    def append(
        self,
        deployment_id: str,
        correlation_id: str,
        type: str,
        *,
        stage: str | None = None,
        message: str = "",
        data: dict[str, Any] | None = None,
        dedupe_key: str | None = None,
    ) -> EventRecord | None:
        """Append one event in its own transaction; None when `dedupe_key` was already
        used for this deployment (the event was recorded before, e.g. by a retried step)."""
        event = NewEvent(deployment_id, correlation_id, type, stage, message, data, dedupe_key)
        values = self._values(event)
        with self._db.write("append event") as conn:
            self._lock_log(conn)
            new_id = self._insert_one(conn, values)
        if new_id is None:
            return None
        return EventRecord(id=new_id, **values)

    def append_many(self, new_events: Sequence[NewEvent]) -> int:
        """Append several events in one transaction; returns how many were new."""
        if not new_events:
            return 0
        with self._db.write("append events") as conn:
            self._lock_log(conn)
            added = [self._insert_one(conn, self._values(e)) for e in new_events]
        return sum(1 for new_id in added if new_id is not None)

    def read(
        self, after: int = 0, *, deployment_id: str | None = None, limit: int = 1000
    ) -> list[EventRecord]:
        """Up to `limit` events with an id greater than `after`, in id order."""
        query = sa.select(events).where(events.c.id > after)
        if deployment_id is not None:
            query = query.where(events.c.deployment_id == deployment_id)
        query = query.order_by(events.c.id).limit(limit)
        with self._db.read("read events") as conn:
            return [_record(row) for row in conn.execute(query)]

    def last_id(self, deployment_id: str | None = None) -> int:
        """The newest event id (of one deployment, or overall); 0 for an empty log."""
        query = sa.select(sa.func.coalesce(sa.func.max(events.c.id), 0))
        if deployment_id is not None:
            query = query.where(events.c.deployment_id == deployment_id)
        with self._db.read("read last event id") as conn:
            return int(conn.execute(query).scalar_one())

    def _lock_log(self, conn: Connection) -> None:
        if self._lock is not None:
            conn.execute(self._lock)

    def _insert_one(self, conn: Connection, values: dict[str, Any]) -> int | None:
        new_id = conn.execute(self._insert, values).scalar_one_or_none()
        return None if new_id is None else int(new_id)

    @staticmethod
    def _values(event: NewEvent) -> dict[str, Any]:
        return {
            "deployment_id": event.deployment_id,
            "correlation_id": event.correlation_id,
            "type": event.type,
            "stage": event.stage,
            "message": event.message,
            "data": dict(event.data or {}),
            "created_at": utc_now(),
            "dedupe_key": event.dedupe_key,
        }
