"""Bringing a database to the schema revision this code expects.

Alembic runs programmatically (no alembic.ini): the scripts live in `migrations/`, and
the connection is handed to `env.py` through `config.attributes`. Several processes may
open a fresh store at once, so every migration runs inside one write transaction that
serialises them: `pg_advisory_xact_lock` on PostgreSQL, `BEGIN IMMEDIATE` on SQLite (whose
DDL is transactional once SQLAlchemy, not sqlite3, issues BEGIN). The loser of the race
waits, then finds the schema at head and does nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipway.errors import StoreError
from shipway.store.engine import StoreEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# NOTE: an arbitrary constant shared by every shipway process: the advisory lock id that
# serialises schema upgrades on one PostgreSQL database.
PG_MIGRATION_LOCK_ID = 0x5348_4950_5701
MIGRATION_LOCK_TIMEOUT_S = 120


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    """An Alembic config pointing at shipway's migrations, optionally bound to `connection`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def head_revision() -> str:
    """The newest revision the migration scripts define."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise StoreError(f"no migration scripts found in {MIGRATIONS_DIR}")
    return head


def current_revision(db: StoreEngine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with db.read("read schema revision") as conn:
        return MigrationContext.configure(conn).get_current_revision()


def newest_script_revision() -> str:
    """The head revision read from the scripts' file names (`vNNNN_*.py`), without
    importing Alembic: every CLI command opens the store, and Alembic costs a few hundred
    milliseconds to import. A test checks it agrees with Alembic's own head."""
    numbers = [
        int(match.group(1))
        for path in (MIGRATIONS_DIR / "versions").glob("v*.py")
        if (match := re.fullmatch(r"v(\d{4})_\w+", path.stem))
    ]
    return f"{max(numbers):04d}"


def _at_head_quickly(db: StoreEngine) -> bool:
    try:
        with db.read("read schema revision") as conn:
            found = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
            return list(found) == [newest_script_revision()]
    except StoreError:
        return False  # no alembic_version table yet: a new store


def upgrade(db: StoreEngine, revision: str = "head") -> None:
    """Migrate the database up to `revision`; a no-op when it is already there."""
    if revision == "head" and _at_head_quickly(db):
        return
    target = head_revision() if revision == "head" else revision
    if current_revision(db) == target:
        return
    from alembic import command

    _run_locked(db, "migrate", lambda config: command.upgrade(config, revision))


def downgrade(db: StoreEngine, revision: str = "base") -> None:
    """Migrate the database down to `revision` ("base" drops every table)."""
    from alembic import command

    _run_locked(db, "downgrade", lambda config: command.downgrade(config, revision))


def _run_locked(db: StoreEngine, action: str, run: Callable[[Config], None]) -> None:
    from alembic.util import CommandError

    with db.write(action) as conn:
        if db.dialect == "postgresql":
            # NOTE: a deadline on waiting for another process's migration (DESIGN.md s6).
            conn.execute(sa.text(f"SET LOCAL lock_timeout = '{MIGRATION_LOCK_TIMEOUT_S}s'"))
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(PG_MIGRATION_LOCK_ID)))
        try:
            run(alembic_config(conn))
        except CommandError as e:
            raise StoreError(f"state store {db.masked_url}: {action} failed: {e}") from e
