"""Series and samples in the state store: the write path (bulk, one transaction per
batch, a series-id cache) and the read path the query engine uses.

A series is a metric name plus one label set within a project's environment; its id is
looked up once and cached. Samples are (series id, time in integer milliseconds, value)
rows. A staleness marker (Prometheus's special NaN, `STALE_NAN`) is stored as NULL; any
other NaN as the text 'NaN' on SQLite (which turns a float NaN into NULL) and as a NaN
double on PostgreSQL; reads give both back as NaN bit patterns. Reads return raw samples
where they exist and fill older times from the 1-minute rollups (`retention.py`).
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from shipway.store import Store
    from shipway.store.engine import StoreEngine

#: One sample to write: metric name, labels (without __name__), Unix seconds, value.
Sample = tuple[str, Mapping[str, str], float, float]
#: Prometheus's staleness marker: a NaN with its own bit pattern (value.StaleNaN).
STALE_BITS = 0x7FF0000000000002
STALE_NAN: float = struct.unpack("<d", struct.pack("<Q", STALE_BITS))[0]


def is_stale(value: float) -> bool:
    """Whether `value` is the staleness marker (not just any NaN)."""
    return math.isnan(value) and struct.pack("<d", value) == _STALE_BYTES


_STALE_BYTES = struct.pack("<Q", STALE_BITS)
_IN_CHUNK = 500
_MINUTE_MS = 60_000
_SERIES_CACHE_MAX = 200_000


@dataclass(frozen=True)
class SeriesRef:
    """A stored series: its id, metric name and labels (without `__name__`)."""

    id: int
    name: str
    labels: dict[str, str]


@dataclass
class SampleColumns:
    """The samples of one series, oldest first: times in milliseconds (int64) and values
    (float64) as numpy arrays."""

    ts: Any
    values: Any


def canonical_labels(labels: Mapping[str, str]) -> str:
    """The labels as compact JSON with sorted keys: the stored, comparable form."""
    return json.dumps(dict(sorted(labels.items())), separators=(",", ":"), ensure_ascii=False)


def series_key(project: str, environment: str, name: str, labels_json: str) -> str:
    raw = "\0".join((project, environment, name, labels_json)).encode()
    return hashlib.sha256(raw).hexdigest()


class MetricRepository:
    """Write and read metric series and samples of every environment in one store."""

    def __init__(self, db: StoreEngine) -> None:
        self._db = db
        self._ids: dict[tuple[str, str, str, str], int] = {}
        self._fast_ids: dict[tuple[str, str, str, tuple[tuple[str, str], ...]], int] = {}
        self._unresolved: dict[
            tuple[str, str, str, str], tuple[str, str, str, tuple[tuple[str, str], ...]]
        ] = {}
        self._lock = threading.Lock()
        param = "%s" if db.dialect == "postgresql" else "?"
        self._insert_sql = (
            f"INSERT INTO metric_samples (series_id, ts, value) VALUES ({param}, {param}, "
            f"{param}) ON CONFLICT DO NOTHING"
        )
        self._param = param

    @property
    def db(self) -> StoreEngine:
        return self._db

    # --- writing ------------------------------------------------------------------------
    def write(self, project: str, environment: str, samples: Iterable[Sample]) -> int:
        """Store `samples` in one transaction; returns how many were given. A sample whose
        series already has a value at that millisecond is ignored, as Prometheus does."""
        rows: list[tuple[int, int, float | str | None]] = []
        pending: dict[tuple[str, str, str, str], list[tuple[int, float | str | None]]] = {}
        nan_value: float | str = "NaN" if self._db.dialect == "sqlite" else math.nan
        fast = self._fast_ids
        count = 0
        isnan = math.isnan
        for name, labels, when, value in samples:
            count += 1
            # NOTE: the cache key is the labels in the order given (cheap to hash); the
            # canonical sorted JSON is only built for a label set seen the first time.
            fast_key = (project, environment, name, tuple(labels.items()))
            series_id = fast.get(fast_key)
            stored: float | str | None = float(value)
            if isnan(value):
                stored = None if is_stale(value) else nan_value
            ts = round(when * 1000)
            if series_id is None:
                key = (project, environment, name, canonical_labels(labels))
                series_id = self._ids.get(key)
                if series_id is None:
                    pending.setdefault(key, []).append((ts, stored))
                    self._unresolved[key] = fast_key
                    continue
                fast[fast_key] = series_id
            rows.append((series_id, ts, stored))
        if not count:
            return 0
        with self._db.write("write metric samples") as conn:
            if pending:
                resolved = self._resolve(conn, list(pending))
                for key, points in pending.items():
                    series_id = resolved[key]
                    rows.extend((series_id, ts, value) for ts, value in points)
            conn.exec_driver_sql(self._insert_sql, rows)
        return count

    def _resolve(
        self, conn: sa.Connection, keys: list[tuple[str, str, str, str]]
    ) -> dict[tuple[str, str, str, str], int]:
        """Series ids for `keys`, creating the missing series."""
        from shipway.store.tables import metric_series

        by_hash = {series_key(*key): key for key in keys}
        insert = self._db.insert(metric_series).on_conflict_do_nothing(index_elements=["key"])
        conn.execute(
            insert,
            [
                {
                    "key": digest,
                    "project": key[0],
                    "environment": key[1],
                    "name": key[2],
                    "labels": key[3],
                }
                for digest, key in by_hash.items()
            ],
        )
        found: dict[tuple[str, str, str, str], int] = {}
        digests = list(by_hash)
        for start in range(0, len(digests), _IN_CHUNK):
            part = digests[start : start + _IN_CHUNK]
            query = sa.select(metric_series.c.key, metric_series.c.id).where(
                metric_series.c.key.in_(part)
            )
            for digest, series_id in conn.execute(query):
                found[by_hash[digest]] = int(series_id)
        with self._lock:
            if len(self._ids) > _SERIES_CACHE_MAX:
                self._ids.clear()
                self._fast_ids.clear()
            self._ids.update(found)
            for key, series_id in found.items():
                fast_key = self._unresolved.pop(key, None)
                if fast_key is not None:
                    self._fast_ids[fast_key] = series_id
        return found

    # --- reading ------------------------------------------------------------------------
    def series(self, project: str, environment: str, name: str | None = None) -> list[SeriesRef]:
        """The series of an environment, all of them or those of one metric name."""
        from shipway.store.tables import metric_series

        query = sa.select(metric_series.c.id, metric_series.c.name, metric_series.c.labels).where(
            metric_series.c.project == project, metric_series.c.environment == environment
        )
        if name is not None:
            query = query.where(metric_series.c.name == name)
        with self._db.read("read metric series") as conn:
            rows = conn.execute(query).all()
        return [SeriesRef(int(r.id), r.name, json.loads(r.labels)) for r in rows]

    def environments(self) -> list[tuple[str, str]]:
        """Every (project, environment) that has stored series."""
        from shipway.store.tables import metric_series

        query = sa.select(metric_series.c.project, metric_series.c.environment).distinct()
        with self._db.read("read metric environments") as conn:
            return [(r.project, r.environment) for r in conn.execute(query)]

    def samples(
        self, series_ids: Sequence[int], start_ms: int, end_ms: int
    ) -> dict[int, SampleColumns]:
        """The samples of `series_ids` with start_ms <= time <= end_ms, oldest first: raw
        samples (rows and packed hourly chunks), and before a series' first raw sample in
        the range its 1-minute rollups (the last sample of each minute)."""
        import numpy as np

        parts: dict[int, list[tuple[Any, Any]]] = {}
        older: dict[int, list[tuple[Any, Any]]] = {}
        p = self._param
        with self._db.read("read metric samples") as conn:
            for part in _chunks(series_ids):
                marks = ", ".join([p] * len(part))
                packed = _fetch(
                    conn,
                    f"SELECT series_id, ts, vals FROM metric_chunks WHERE series_id IN "
                    f"({marks}) AND start_ts <= {p} AND end_ts >= {p} "
                    "ORDER BY series_id, start_ts",
                    (*part, end_ms, start_ms),
                )
                for series_id, ts_blob, vals_blob in packed:
                    parts.setdefault(int(series_id), []).append(
                        (np.frombuffer(ts_blob, "<i8"), np.frombuffer(vals_blob, "<f8"))
                    )
                raw = _fetch(
                    conn,
                    f"SELECT series_id, ts, value FROM metric_samples WHERE series_id IN "
                    f"({marks}) AND ts >= {p} AND ts <= {p} ORDER BY series_id, ts",
                    (*part, start_ms, end_ms),
                )
                collect_rows(parts, raw)
        # Rollups fill only what lies before a series' first raw sample in the range.
        firsts = [
            min(int(piece[0][0]) for piece in parts[i]) if i in parts else end_ms + 1
            for i in series_ids
        ]
        cutoff = min(firsts, default=end_ms + 1)
        if cutoff > start_ms:
            with self._db.read("read metric rollups") as conn:
                for part in _chunks(series_ids):
                    marks = ", ".join([p] * len(part))
                    rolled = conn.exec_driver_sql(
                        f"SELECT series_id, last_ts, last FROM metric_rollups WHERE series_id IN "
                        f"({marks}) AND ts >= {p} AND ts < {p} AND last_ts >= {p} "
                        f"AND last_ts <= {p} ORDER BY series_id, ts",
                        (*part, start_ms - _MINUTE_MS, cutoff, start_ms, end_ms),
                    ).fetchall()
                    collect_rows(older, rolled)
        found: dict[int, SampleColumns] = {}
        for series_id in set(parts) | set(older):
            ts, values = _merge(parts.get(series_id, []), start_ms, end_ms)
            if series_id in older:
                (old_ts, old_values) = _merge(older[series_id], start_ms, end_ms)
                keep = old_ts < ts[0] if len(ts) else np.ones(len(old_ts), dtype=bool)
                ts = np.concatenate((old_ts[keep], ts))
                values = np.concatenate((old_values[keep], values))
            if len(ts):
                found[series_id] = SampleColumns(ts, values)
        return found


def _fetch(conn: sa.Connection, sql: str, params: tuple[Any, ...]) -> list[Any]:
    """Rows as the driver returns them (plain tuples): the read path of long ranges skips
    SQLAlchemy's row objects, which cost more than the query on thousands of rows."""
    from shipway.errors import StoreError

    driver_error = conn.dialect.loaded_dbapi.Error
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    except driver_error as e:
        raise StoreError(f"state store: read metric samples failed: {e}".splitlines()[0]) from e
    finally:
        cursor.close()


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield ids[start : start + _IN_CHUNK]


def collect_rows(found: dict[int, list[tuple[Any, Any]]], rows: Sequence[Any]) -> None:
    """Rows of (series id, ts, value) sorted by series, appended as arrays per series."""
    import numpy as np

    if not rows:
        return
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    ts = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    raw = [r[2] for r in rows]
    # NOTE: numpy would turn NULL (None) into an ordinary NaN: markers need their bits.
    if None in raw or "NaN" in raw:
        values = np.array([_stored_value(v) for v in raw], dtype=np.float64)
    else:
        values = np.array(raw, dtype=np.float64)
    bounds = np.flatnonzero(np.diff(ids)) + 1
    for start, stop in zip([0, *bounds.tolist()], [*bounds.tolist(), len(rows)], strict=True):
        found.setdefault(int(ids[start]), []).append((ts[start:stop], values[start:stop]))


def _stored_value(value: Any) -> float:
    if value is None:
        return STALE_NAN
    if isinstance(value, str):
        return float(value)
    return float(value)


def _merge(pieces: list[tuple[Any, Any]], start_ms: int, end_ms: int) -> tuple[Any, Any]:
    """One sorted, de-duplicated pair of arrays from chunks and rows, cut to the range."""
    import numpy as np

    if not pieces:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    if len(pieces) == 1:
        ts, values = pieces[0]
    else:
        ts = np.concatenate([p[0] for p in pieces])
        values = np.concatenate([p[1] for p in pieces])
        if len(ts) > 1 and not bool(np.all(ts[1:] > ts[:-1])):
            order = np.argsort(ts, kind="stable")
            ts, values = ts[order], values[order]
            first = np.concatenate(([True], ts[1:] != ts[:-1]))
            ts, values = ts[first], values[first]
    inside = (ts >= start_ms) & (ts <= end_ms)
    if not bool(inside.all()):
        ts, values = ts[inside], values[inside]
    return ts, values


def write_samples(
    store: Store,
    project: str,
    environment: str,
    samples: Iterable[tuple[str, Mapping[str, str], float, float]],
) -> int:
    """Store samples (metric name, labels, Unix seconds, value) of one environment in one
    transaction; returns how many were given."""
    return store.metrics.write(project, environment, samples)
