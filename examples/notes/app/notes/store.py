"""The data layer: one `notes` table in SQLite or PostgreSQL, in plain SQL.

Every operation opens its own connection and transaction and closes it before
returning: a note service does a handful of short statements per request, so a pool
would add state (and failure modes after a database restart) without a measurable gain.
Methods block; the web layer runs them in a worker thread.
"""

from __future__ import annotations

import importlib.util
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

# NOTE: both engines store ids as signed 64-bit integers; a larger id in a URL cannot
# name a note, and passing it to the driver would raise an overflow error instead.
MAX_ID = 2**63 - 1
# Waiting to connect, or for SQLite's write lock.
TIMEOUT_SECONDS = 5
# Longest a PostgreSQL statement may run, lock waits included.
STATEMENT_TIMEOUT_MS = 10_000

Row = tuple[Any, ...]
Statement = tuple[str, tuple[object, ...]]


class StoreError(Exception):
    """The database could not be reached or refused a statement."""


@dataclass(frozen=True)
class Note:
    """One stored note."""

    id: int
    text: str
    created_at: datetime

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "text": self.text, "created_at": self.created_at.isoformat()}


@dataclass(frozen=True)
class Dialect:
    """The SQL that differs between the engines; everything else is shared."""

    create_schema: tuple[str, ...]
    insert: str
    recent: str
    get: str
    delete: str
    count: str = "SELECT count(*) FROM notes"


SQLITE = Dialect(
    create_schema=(
        # WAL lets readers (health checks, page views) proceed while a note is written,
        # also when the old and new release share the file during a switch-over.
        "PRAGMA journal_mode=WAL",
        "CREATE TABLE IF NOT EXISTS notes ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " text TEXT NOT NULL,"
        " created_at TEXT NOT NULL)",
    ),
    insert="INSERT INTO notes (text, created_at) VALUES (?, ?) RETURNING id, text, created_at",
    recent="SELECT id, text, created_at FROM notes ORDER BY id DESC LIMIT ?",
    get="SELECT id, text, created_at FROM notes WHERE id = ?",
    delete="DELETE FROM notes WHERE id = ? RETURNING id",
)

POSTGRES = Dialect(
    create_schema=(
        # Two releases may start at once against one database; CREATE TABLE IF NOT EXISTS
        # is not safe under that race in PostgreSQL, so the creation is serialized.
        "SELECT pg_advisory_xact_lock(hashtext('notes.create_schema'))",
        "CREATE TABLE IF NOT EXISTS notes ("
        " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " text TEXT NOT NULL,"
        " created_at TIMESTAMPTZ NOT NULL)",
    ),
    insert="INSERT INTO notes (text, created_at) VALUES (%s, %s) RETURNING id, text, created_at",
    recent="SELECT id, text, created_at FROM notes ORDER BY id DESC LIMIT %s",
    get="SELECT id, text, created_at FROM notes WHERE id = %s",
    delete="DELETE FROM notes WHERE id = %s RETURNING id",
)


class NoteStore(ABC):
    """Notes in a database; subclasses only know how to run statements."""

    dialect: ClassVar[Dialect]

    @abstractmethod
    def _transaction(self, statements: Sequence[Statement], *, create: bool = False) -> list[Row]:
        """Run `statements` in one transaction; return the rows of the last one."""

    def _query(self, sql: str, *params: object) -> list[Row]:
        return self._transaction([(sql, params)])

    def create_schema(self) -> None:
        """Create the table if it is missing (and, for SQLite, the database file)."""
        self._transaction([(sql, ()) for sql in self.dialect.create_schema], create=True)

    def ping(self) -> None:
        """Raise StoreError unless the database answers and holds the table."""
        self._query(self.dialect.count)

    def count(self) -> int:
        return int(self._query(self.dialect.count)[0][0])

    def add(self, text: str) -> Note:
        now = datetime.now(UTC).isoformat()
        return _note(self._query(self.dialect.insert, text, now)[0])

    def recent(self, limit: int) -> list[Note]:
        """The `limit` newest notes, newest first."""
        return [_note(row) for row in self._query(self.dialect.recent, limit)]

    def get(self, note_id: int) -> Note | None:
        if not 0 < note_id <= MAX_ID:
            return None
        rows = self._query(self.dialect.get, note_id)
        return _note(rows[0]) if rows else None

    def delete(self, note_id: int) -> bool:
        """Delete one note; False when there was no such note."""
        if not 0 < note_id <= MAX_ID:
            return False
        return bool(self._query(self.dialect.delete, note_id))


def _note(row: Row) -> Note:
    note_id, text, created_at = row
    # SQLite hands back the ISO text it was given; PostgreSQL a datetime in the session's
    # time zone. Both are presented in UTC.
    if not isinstance(created_at, datetime):
        created_at = datetime.fromisoformat(str(created_at))
    return Note(id=int(note_id), text=str(text), created_at=created_at.astimezone(UTC))


class SqliteNoteStore(NoteStore):
    """Notes in a SQLite file."""

    dialect = SQLITE

    def __init__(self, path: Path) -> None:
        self.path = path.resolve()

    def _transaction(self, statements: Sequence[Statement], *, create: bool = False) -> list[Row]:
        # Only schema creation may create the file: if it disappears later, the health
        # check must fail instead of silently starting over with an empty database.
        mode = "rwc" if create else "rw"
        rows: list[Row] = []
        try:
            conn = sqlite3.connect(
                f"{self.path.as_uri()}?mode={mode}", uri=True, timeout=TIMEOUT_SECONDS
            )
            try:
                with conn:  # commits, or rolls back on an exception
                    for sql, params in statements:
                        rows = conn.execute(sql, params).fetchall()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite {self.path}: {exc}") from exc
        return rows


class PostgresNoteStore(NoteStore):
    """Notes in a PostgreSQL database (psycopg 3)."""

    dialect = POSTGRES

    def __init__(self, url: str) -> None:
        if importlib.util.find_spec("psycopg") is None:
            raise ValueError("DATABASE_URL names PostgreSQL, but psycopg is not installed")
        self.url = url

    def _transaction(self, statements: Sequence[Statement], *, create: bool = False) -> list[Row]:
        # Imported here so that the SQLite-only setup does not need psycopg installed.
        import psycopg

        rows: list[Row] = []
        try:
            with psycopg.connect(self.url, connect_timeout=TIMEOUT_SECONDS) as conn:
                # SET LOCAL rather than a startup option, which transaction-mode poolers
                # (Supabase's, PgBouncer) refuse.
                conn.execute(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
                for sql, params in statements:
                    cursor = conn.execute(sql, params)
                    rows = cursor.fetchall() if cursor.description else []
        except psycopg.Error as exc:
            raise StoreError(f"postgresql: {exc}") from exc
        return rows


def open_store(url: str) -> NoteStore:
    """The store named by a `DATABASE_URL`; ValueError when the URL is not one we serve."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if not path or path.startswith(":memory:") or "?" in path:
            raise ValueError(f"DATABASE_URL must name a SQLite file, not {url!r}")
        return SqliteNoteStore(Path(path))
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresNoteStore(url)
    raise ValueError(
        f"DATABASE_URL must start with sqlite:/// or postgresql:// (got {url.split(':', 1)[0]!r})"
    )
