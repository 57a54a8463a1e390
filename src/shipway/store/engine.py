"""Connections to the state database: URLs, engines, transactions and error translation.

`StoreEngine` owns the SQLAlchemy engine and is the only place that knows how to talk to
each database: which driver, which pragmas, how a write transaction begins. Every
SQLAlchemy or driver error that leaves it is a `StoreError` with a one-line message
naming the URL with its password masked.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, registry, sqlite
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import ConnectionPoolEntry

from shipway.errors import StoreError

SQLITE_BUSY_TIMEOUT_S = 30.0
PG_CONNECT_TIMEOUT_S = 10
_PASSWORD_IN_URL = re.compile(r"(//[^:/@?#]*:)[^/?#]*@")


def mask_url(url: str) -> str:
    """`url` with any password replaced by `***`, for messages and logs."""
    return _PASSWORD_IN_URL.sub(r"\1***@", url)


def normalise_url(url: str) -> sa.URL:
    """Parse a user's state URL into the SQLAlchemy URL shipway connects with.

    `postgres://` and `postgresql://` (what Supabase and Heroku hand out) use psycopg 3;
    `sqlite:///path` needs a file path (an in-memory database cannot be shared).
    """
    try:
        parsed = sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError) as e:
        raise StoreError(f"invalid state URL {mask_url(url)!r}: {_first_line(e)}") from e
    backend = parsed.get_backend_name()
    if backend in ("postgres", "postgresql"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        if not parsed.database or parsed.database == ":memory:":
            raise StoreError(f"state URL {mask_url(url)!r} names no database file")
        return parsed.set(drivername="sqlite+pysqlite")
    raise StoreError(
        f"unsupported state URL {mask_url(url)!r}: use sqlite:///path or postgresql://..."
    )


def _first_line(error: BaseException) -> str:
    """The first meaningful line of an error's message (drivers add hints below it)."""
    cause: BaseException = error
    if isinstance(error, sa.exc.DBAPIError) and error.orig is not None:
        cause = error.orig
    for line in str(cause).splitlines():
        if line.strip():
            return line.strip()
    return type(cause).__name__


class StoreEngine:
    """One database: an engine, read and write transactions, and error translation."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.masked_url = mask_url(url)
        self.dialect: str = (
            "postgresql" if self.url.get_backend_name() == "postgresql" else "sqlite"
        )
        with self.translate_errors("open"):
            if self.dialect == "postgresql":
                self.engine = sa.create_engine(
                    self.url,
                    pool_pre_ping=True,
                    connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S},
                )
                self._writer = self.engine
                self._write_lock: AbstractContextManager[Any] = nullcontext()
            else:
                self.engine = self._create_sqlite_engine(_DEFERRED_DRIVER)
                self._writer = self._create_sqlite_engine(_IMMEDIATE_DRIVER)
                self._write_lock = _sqlite_write_lock(str(self.engine.url.database))

    def _create_sqlite_engine(self, driver: str) -> Engine:
        path = Path(str(self.url.database)).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create the folder for {self.masked_url}: {e}") from e
        engine = sa.create_engine(
            self.url.set(drivername=f"sqlite+{driver}", database=str(path)),
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
        )
        event.listen(engine, "connect", _configure_sqlite_connection)
        return engine

    @contextmanager
    def translate_errors(self, action: str) -> Iterator[None]:
        """Turn SQLAlchemy and driver errors raised inside into a one-line `StoreError`."""
        try:
            yield
        except (sa.exc.SQLAlchemyError, sqlite3.Error) as e:
            message = _first_line(e)
            if self.url.password:
                message = message.replace(str(self.url.password), "***")
            raise StoreError(f"state store {self.masked_url}: {action} failed: {message}") from e

    @contextmanager
    def write(self, action: str = "write") -> Iterator[Connection]:
        """A write transaction, committed on success. On SQLite it holds the database's
        write lock from BEGIN, so concurrent writers queue instead of deadlocking."""
        with (
            self._write_lock,
            self.translate_errors(action),
            self._writer.connect() as conn,
            conn.begin(),
        ):
            yield conn

    @contextmanager
    def read(self, action: str = "read") -> Iterator[Connection]:
        """A read transaction: a consistent snapshot that never blocks writers."""
        with self.translate_errors(action), self.engine.connect() as conn, conn.begin():
            yield conn

    def insert(self, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
        """An INSERT in this database's dialect, for `ON CONFLICT` clauses."""
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
        self._writer.dispose()


class DeferredSQLiteDialect(SQLiteDialect_pysqlite):
    """pysqlite where SQLAlchemy, not sqlite3, issues BEGIN: reads take a snapshot."""

    begin_statement = "BEGIN"
    supports_statement_cache = True

    def do_begin(self, dbapi_connection: Any) -> None:
        dbapi_connection.execute(self.begin_statement)


class ImmediateSQLiteDialect(DeferredSQLiteDialect):
    """pysqlite whose transactions take the write lock at BEGIN, so two writers never
    both hold a read lock and then deadlock upgrading it (the second one waits instead)."""

    begin_statement = "BEGIN IMMEDIATE"
    supports_statement_cache = True


# NOTE: SQLAlchemy's pysqlite recipe (sqlite_enabling_transactions) with the BEGIN moved
# from a "begin" event into the dialect: a ConnectionEvents listener makes every statement
# dispatch events, and the event path cut appends from 8,200 to 4,600 events/s (measured).
_DEFERRED_DRIVER = "shipway_deferred"
_IMMEDIATE_DRIVER = "shipway_immediate"
registry.register(f"sqlite.{_DEFERRED_DRIVER}", __name__, DeferredSQLiteDialect.__name__)
registry.register(f"sqlite.{_IMMEDIATE_DRIVER}", __name__, ImmediateSQLiteDialect.__name__)


_SQLITE_WRITE_LOCKS: dict[str, threading.RLock] = {}
_SQLITE_WRITE_LOCKS_GUARD = threading.Lock()


def _sqlite_write_lock(path: str) -> threading.RLock:
    # NOTE: threads of one process queue on this lock rather than on SQLite's busy
    # handler, which polls with sleeps of up to 100 ms: with eight appending threads and
    # a reader holding the GIL, that polling starved writers for seconds (measured).
    # Other processes still wait on the busy handler.
    key = str(Path(path).resolve())
    with _SQLITE_WRITE_LOCKS_GUARD:
        return _SQLITE_WRITE_LOCKS.setdefault(key, threading.RLock())


def _configure_sqlite_connection(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    # NOTE: stop sqlite3 from issuing its own BEGIN (the dialects above do it).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()
