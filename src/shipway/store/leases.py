"""The `leases` table: one deployment per environment at a time, across processes and
machines.

Acquiring is one atomic statement on both databases: INSERT the lease, and ON CONFLICT
UPDATE it only WHERE the current lease has expired or already belongs to the caller;
RETURNING tells who won. On PostgreSQL the conflicting row is locked and the WHERE is
re-checked against its committed version, so two racers can never both win; on SQLite
the write transaction holds the database's write lock. "Now" is the database's clock on
PostgreSQL (machines disagree about time, the server is the referee) and Python's UTC
clock on SQLite (one machine).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipway.errors import LeaseHeldError, StoreError
from shipway.store.engine import StoreEngine
from shipway.store.records import LeaseRecord, utc_now
from shipway.store.tables import UtcDateTime, leases

# NOTE: a lease released between our failed upsert and the read of its holder leaves
# nothing to report; try again a few times before calling it contention.
_ACQUIRE_ATTEMPTS = 5


def _record(row: sa.Row[Any]) -> LeaseRecord:
    return LeaseRecord(**row._mapping)


class LeaseRepository:
    """Acquire, renew and release environment leases, keyed "project/environment"."""

    def __init__(self, db: StoreEngine) -> None:
        self._db = db

    def acquire(
        self, key: str, holder: str, ttl: float, *, owner: str | None = None
    ) -> LeaseRecord:
        """Take the lease on `key` for deployment `holder` for `ttl` seconds.

        Succeeds when the lease is free, expired, or already held by `holder` (then it
        is renewed). Otherwise raises `LeaseHeldError` naming the current holder.
        """
        for _ in range(_ACQUIRE_ATTEMPTS):
            with self._db.write("acquire lease") as conn:
                row = conn.execute(self._acquire_statement(key, holder, ttl, owner)).first()
                if row is not None:
                    return _record(row)
                current = conn.execute(sa.select(leases).where(leases.c.key == key)).first()
                now = self._clock(conn)
            if current is not None:
                lease = _record(current)
                raise LeaseHeldError(key, lease.holder, lease.expires_in(now))
        raise StoreError(f"could not acquire lease {key!r}: it kept changing hands")

    def renew(self, key: str, holder: str, ttl: float) -> bool:
        """Extend `holder`'s lease on `key` by `ttl` seconds from now; False if it lost it."""
        where = (leases.c.key == key, leases.c.holder == holder)
        with self._db.write("renew lease") as conn:
            # NOTE: the expiry is computed once the write lock is held, not before.
            statement = leases.update().where(*where).values(expires_at=self._expiry(ttl))
            return conn.execute(statement).rowcount > 0

    def renew_owned(self, owner: str, ttl: float) -> int:
        """Renew every lease held on behalf of executor `owner`; returns how many."""
        with self._db.write("renew leases") as conn:
            statement = leases.update().where(leases.c.owner == owner)
            return int(conn.execute(statement.values(expires_at=self._expiry(ttl))).rowcount)

    def release(self, key: str, holder: str) -> bool:
        """Give up `holder`'s lease on `key`; False if `holder` did not hold it."""
        statement = leases.delete().where(leases.c.key == key, leases.c.holder == holder)
        with self._db.write("release lease") as conn:
            return conn.execute(statement).rowcount > 0

    def get(self, key: str) -> LeaseRecord | None:
        """The lease row on `key`, expired or not (see `LeaseRecord.expires_in`)."""
        with self._db.read("read lease") as conn:
            row = conn.execute(sa.select(leases).where(leases.c.key == key)).first()
        return None if row is None else _record(row)

    def _acquire_statement(self, key: str, holder: str, ttl: float, owner: str | None) -> sa.Insert:
        insert = self._db.insert(leases).values(
            key=key,
            holder=holder,
            owner=owner,
            acquired_at=self._now(),
            expires_at=self._expiry(ttl),
        )
        new = insert.excluded
        same_holder = leases.c.holder == new.holder
        return insert.on_conflict_do_update(
            index_elements=["key"],
            set_={
                "holder": new.holder,
                "owner": sa.case(
                    (same_holder, sa.func.coalesce(new.owner, leases.c.owner)), else_=new.owner
                ),
                "acquired_at": sa.case((same_holder, leases.c.acquired_at), else_=new.acquired_at),
                "expires_at": new.expires_at,
            },
            where=sa.or_(leases.c.expires_at <= new.acquired_at, same_holder),
        ).returning(*leases.c)

    def _now(self) -> sa.ColumnElement[datetime]:
        if self._db.dialect == "postgresql":
            return sa.type_coerce(sa.func.clock_timestamp(), UtcDateTime())
        return sa.literal(utc_now(), UtcDateTime())

    def _expiry(self, ttl: float) -> sa.ColumnElement[datetime]:
        if self._db.dialect == "postgresql":
            interval = sa.literal(timedelta(seconds=ttl), sa.Interval())
            return sa.type_coerce(sa.func.clock_timestamp() + interval, UtcDateTime())
        return sa.literal(utc_now() + timedelta(seconds=ttl), UtcDateTime())

    def _clock(self, conn: Connection) -> datetime:
        if self._db.dialect == "postgresql":
            now = conn.execute(sa.select(self._now())).scalar_one()
            assert isinstance(now, datetime)
            return now
        return utc_now()
