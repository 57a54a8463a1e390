"""The `log_lines` and `log_positions` tables: storing captured lines together with how
far their file was read (one transaction, so a restart neither loses nor repeats lines),
searching them, counting matches for log-based alerts, and retention.

Full-text search uses the SQLite FTS5 table or the PostgreSQL GIN index that migration
0007 creates beside `log_lines` (see `store/tables.py`).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipway.errors import InputError
from shipway.monitor.logs.records import SEVERITIES, LogLine, severity_of
from shipway.store.engine import StoreEngine
from shipway.store.records import utc_now
from shipway.store.tables import log_lines, log_positions

#: The FTS5 table of migration 0007 (outside `tables.py`), as far as queries need it.
_FTS = sa.table("log_lines_fts", sa.column("rowid", sa.Integer))
_PG_CONFIG: sa.ColumnElement[Any] = sa.literal_column("'simple'::regconfig")


@dataclass(frozen=True)
class Position:
    """How far a followed file was read: its identity (device:inode), the offset of the
    next unread byte, and a digest of its first `head_len` bytes, which tells a file
    truncated and rewritten in place (copytruncate) from the one that was read."""

    key: str
    path: str
    identity: str
    offset: int
    head: str
    head_len: int


@dataclass(frozen=True)
class LogQuery:
    """Which lines to return. Times are Unix seconds, `until` excluded; `min_severity`
    keeps that level and above; `grep` is a case-insensitive substring; `search` a
    full-text query (FTS5 syntax on SQLite, websearch syntax on PostgreSQL)."""

    project: str
    environment: str
    service: str | None = None
    min_severity: int = 0
    since: float | None = None
    until: float | None = None
    grep: str | None = None
    search: str | None = None
    limit: int = 100
    after_id: int | None = None


class LogRepository:
    """Captured log lines and read positions in one state database."""

    def __init__(self, db: StoreEngine) -> None:
        self._db = db

    # -- writing -------------------------------------------------------------------

    def append(self, lines: Sequence[LogLine], position: Position | None = None) -> int:
        """Store `lines` and, in the same transaction, the position they were read up to."""
        with self._db.write("store log lines") as conn:
            if lines and self._db.dialect == "sqlite":
                _append_sqlite(conn, lines)
            elif lines:
                conn.execute(log_lines.insert(), [_row(line) for line in lines])
            if position is not None:
                _put_position(self._db, conn, position)
        return len(lines)

    def position(self, key: str) -> Position | None:
        with self._db.read("read log position") as conn:
            row = conn.execute(sa.select(log_positions).where(log_positions.c.key == key)).first()
        if row is None:
            return None
        values = dict(row._mapping)
        values.pop("updated_at")
        return Position(**values)

    def prune(
        self,
        before: float,
        *,
        project: str | None = None,
        environment: str | None = None,
        source: str | None = None,
    ) -> int:
        """Delete lines older than `before` (retention), of one environment or source if
        given; returns how many."""
        delete = log_lines.delete().where(log_lines.c.time < before)
        if project is not None:
            delete = delete.where(log_lines.c.project == project)
        if environment is not None:
            delete = delete.where(log_lines.c.environment == environment)
        if source is not None:
            delete = delete.where(log_lines.c.source == source)
        with self._db.write("prune log lines") as conn:
            result = conn.execute(delete)
        return int(result.rowcount or 0)

    # -- reading -------------------------------------------------------------------

    def search(self, query: LogQuery) -> list[LogLine]:
        """Matching lines in time order: the newest `limit` ones, or with `after_id` the
        oldest `limit` stored after that id (what `--follow` polls with). On SQLite a
        full-text query takes the most recently stored matches (the FTS index streams
        them newest first, which is what keeps a common word fast on a million lines)."""
        select = sa.select(log_lines).where(*self._conditions(query))
        fts = query.search if query.search and self._db.dialect == "sqlite" else None
        order: sa.ColumnElement[Any] = log_lines.c.id
        if fts:
            select = select.select_from(_FTS.join(log_lines, log_lines.c.id == _FTS.c.rowid)).where(
                sa.text("log_lines_fts MATCH :fts")
            )
            order = _FTS.c.rowid
        if query.after_id is not None:
            select = select.where(log_lines.c.id > query.after_id).order_by(order)
        elif fts:
            select = select.order_by(order.desc())
        else:
            select = select.order_by(log_lines.c.time.desc(), log_lines.c.id.desc())
        select = select.limit(max(query.limit, 0))
        with self._db.read("search log lines") as conn:
            rows = _execute(conn, select, fts)
        found = [_line(row) for row in rows]
        if query.after_id is not None:
            return found
        return sorted(found, key=lambda line: (line.time, line.id or 0))

    def last_id(self) -> int:
        with self._db.read("read last log line") as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.coalesce(sa.func.max(log_lines.c.id), 0))
                ).scalar_one()
            )

    def count_matching(
        self,
        project: str,
        environment: str,
        *,
        pattern: str,
        since: float,
        until: float,
        service: str | None = None,
    ) -> int:
        """Lines in [since, until) whose text matches the regular expression `pattern`."""
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise InputError(f"invalid log pattern {pattern!r}: {exc}") from exc
        query = LogQuery(project, environment, service=service, since=since, until=until)
        select = sa.select(log_lines.c.message).where(*self._conditions(query))
        with self._db.read("count log lines") as conn:
            return sum(1 for message in conn.execute(select).scalars() if regex.search(message))

    def _conditions(self, query: LogQuery) -> Iterator[sa.ColumnElement[bool]]:
        yield log_lines.c.project == query.project
        yield log_lines.c.environment == query.environment
        if query.service is not None:
            yield log_lines.c.service == query.service
        if query.min_severity > 0:
            yield log_lines.c.severity >= query.min_severity
        if query.since is not None:
            yield log_lines.c.time >= query.since
        if query.until is not None:
            yield log_lines.c.time < query.until
        if query.grep:
            yield log_lines.c.message.icontains(query.grep, autoescape=True)
        if query.search and self._db.dialect == "postgresql":
            yield sa.func.to_tsvector(_PG_CONFIG, log_lines.c.message).op("@@")(
                sa.func.websearch_to_tsquery(_PG_CONFIG, query.search)
            )


def _execute(conn: Connection, select: sa.Select[Any], fts: str | None) -> list[sa.Row[Any]]:
    params = {"fts": fts} if fts else {}
    try:
        return list(conn.execute(select, params))
    except sa.exc.OperationalError as exc:
        # NOTE: FTS5 reports a bad query ("fts5: syntax error", "unterminated string",
        # "no such column: x" for a column filter) as OperationalError, like a busy lock.
        orig = exc.orig
        if fts and isinstance(orig, sqlite3.OperationalError) and "locked" not in str(orig):
            raise InputError(f"invalid search query {fts!r}: {orig}") from exc
        raise


_SQLITE_INSERT = (
    "INSERT INTO log_lines (project, environment, service, source, release, level,"
    " severity, time, message, fields) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
#: `json.dumps(fields, default=str)`.
_FIELDS_JSON = json.JSONEncoder(default=str)
#: The C encoder `json.dumps` builds on every call (module `json.encoder`; None where the
#: `_json` accelerator is missing).
_C_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)
_SQLITE_INDEX = (
    "INSERT INTO log_lines_fts (rowid, message) SELECT id, message FROM log_lines WHERE id > ?"
)


def _append_sqlite(conn: Connection, lines: Sequence[LogLine]) -> None:
    """Insert through the driver (SQLAlchemy's per-row parameter processing cost more than
    SQLite's insert, measured), then index the new rows for full-text search in one
    statement. The write transaction holds SQLite's write lock and ids only grow
    (AUTOINCREMENT), so the rows above the previous largest id are exactly this batch."""
    last = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM log_lines").scalar_one()
    # NOTE: the driver's cursor on this transaction's connection takes the rows from a
    # generator, so each row tuple is freed once bound instead of a batch of them piling
    # up for the garbage collector to walk (measured ~1 us a line less).
    driver = conn.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    cursor = driver.cursor()
    try:
        cursor.executemany(_SQLITE_INSERT, _sqlite_rows(lines))
    finally:
        cursor.close()
    conn.exec_driver_sql(_SQLITE_INDEX, (last,))


def _fields_encoder() -> Callable[[dict[str, Any]], str]:
    """What `json.dumps(fields, default=str)` writes, for one batch."""
    if _C_ENCODER is None:
        return _FIELDS_JSON.encode
    # NOTE: json.dumps builds this same encoder (the settings JSONEncoder(default=str)
    # passes) for every call, which cost more than encoding a line's few fields
    # (measured). The markers dict (circular-reference check) is empty again after each
    # successful call; a failed one fails the batch and its transaction.
    # NOTE: `c_make_encoder` is CPython's private accelerator: should its arguments ever
    # change, the check below sends every batch back to the public encoder.
    try:
        encoder = _C_ENCODER(
            {}, str, json.encoder.encode_basestring_ascii, None, ": ", ", ", False, False, True
        )

        def encode(fields: Any) -> str:
            return "".join(encoder(fields, 0))

        if encode(_SAMPLE) == _FIELDS_JSON.encode(_SAMPLE):
            return encode
    except (TypeError, ValueError):
        pass
    return _FIELDS_JSON.encode


_SAMPLE = {"a": [1, 2.5, None, True, float("inf")], "b": 'é\n"', "c": {"d": b"x"}}


def _sqlite_rows(lines: Sequence[LogLine]) -> Iterator[tuple[Any, ...]]:
    encode = _fields_encoder()
    severity = SEVERITIES.get
    for line in lines:
        fields = line.fields
        yield (
            line.project,
            line.environment,
            line.service,
            line.source,
            line.release,
            line.level,
            severity(line.level or "", 0),
            line.time,
            line.message,
            encode(fields) if fields else "{}",
        )


def _put_position(db: StoreEngine, conn: Connection, position: Position) -> None:
    values = {
        "key": position.key,
        "path": position.path,
        "identity": position.identity,
        "offset": position.offset,
        "head": position.head,
        "head_len": position.head_len,
        "updated_at": utc_now(),
    }
    insert = db.insert(log_positions).values(values)
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=[log_positions.c.key],
            set_={k: v for k, v in values.items() if k != "key"},
        )
    )


def _row(line: LogLine) -> dict[str, Any]:
    return {
        "project": line.project,
        "environment": line.environment,
        "service": line.service,
        "source": line.source,
        "release": line.release,
        "level": line.level,
        "severity": severity_of(line.level),
        "time": line.time,
        "message": line.message,
        "fields": line.fields,
    }


def _line(row: sa.Row[Any]) -> LogLine:
    values = dict(row._mapping)
    values.pop("severity")
    return LogLine(**values)
