"""Bringing a database to the schema revision this code expects.

Alembic runs programmatically (no alembic.ini): the scripts live in `migrations/`, and
the connection is handed to `env.py` through `config.attributes`. Several processes may
open a fresh store at once, so every migration runs inside one write transaction that
serialises them: `pg_advisory_xact_lock` on PostgreSQL, `BEGIN IMMEDIATE` on SQLite (whose
DDL is transactional once SQLAlchemy, not sqlite3, issues BEGIN). The loser of the race
waits, then finds the schema at head and does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Connection

from shipway.errors import StoreError
from shipway.store.engine import StoreEngine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# NOTE: an arbitrary constant shared by every shipway process: the advisory lock id that
# serialises schema upgrades on one PostgreSQL database.
PG_MIGRATION_LOCK_ID = 0x5348_4950_5701
MIGRATION_LOCK_TIMEOUT_S = 120


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at shipway's migrations, optionally bound to `connection`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def head_revision() -> str:
    """The newest revision the migration scripts define."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise StoreError(f"no migration scripts found in {MIGRATIONS_DIR}")
    return head


def current_revision(db: StoreEngine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with db.read("read schema revision") as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: StoreEngine, revision: str = "head") -> None:
    """Migrate the database up to `revision`; a no-op when it is already there."""
    target = head_revision() if revision == "head" else revision
    if current_revision(db) == target:
        return
    _run_locked(db, "migrate", lambda config: command.upgrade(config, revision))


def downgrade(db: StoreEngine, revision: str = "base") -> None:
    """Migrate the database down to `revision` ("base" drops every table)."""
    _run_locked(db, "downgrade", lambda config: command.downgrade(config, revision))


def _run_locked(db: StoreEngine, action: str, run: Callable[[Config], None]) -> None:
    with db.write(action) as conn:
        if db.dialect == "postgresql":
            # NOTE: a deadline on waiting for another process's migration (DESIGN.md s6).
            conn.execute(sa.text(f"SET LOCAL lock_timeout = '{MIGRATION_LOCK_TIMEOUT_S}s'"))
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(PG_MIGRATION_LOCK_ID)))
        try:
            run(alembic_config(conn))
        except CommandError as e:
            raise StoreError(f"state store {db.masked_url}: {action} failed: {e}") from e
