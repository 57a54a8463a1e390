"""Retention, compaction and downsampling of one environment's metrics, run by the
metrics collector every minute:

1. complete minutes of raw samples become 1-minute rollups (last, min, max, sum, count);
2. raw samples of complete hours older than an hour are packed into one chunk row per
   series and hour (`metric_chunks`), so long ranges read few rows;
3. raw samples and chunks older than `monitoring.retention.raw` (24h) and rollups older
   than `monitoring.retention.rollups` (30d) are deleted.

Raw samples are only packed or deleted once rolled up, so a late run never loses a minute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from shipway.store import Store

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
#: Raw rows younger than this stay rows (new samples are written there).
COMPACT_AFTER_MS = HOUR_MS
#: Minutes rolled up per transaction, to bound memory on a first run over old data.
ROLLUP_BATCH_MINUTES = 60


@dataclass(frozen=True)
class RetentionReport:
    rollup_rows: int
    compacted: int
    raw_deleted: int
    rollups_deleted: int


def apply_retention(
    store: Store,
    project: str,
    environment: str,
    *,
    raw_s: float,
    rollups_s: float,
    now: float,
) -> RetentionReport:
    """Roll up, then expire, the metrics of one environment as of `now` (Unix seconds)."""
    now_ms = round(now * 1000)
    done, rows = _roll_up(store, project, environment, now_ms // MINUTE_MS * MINUTE_MS)
    compact_before = min(now_ms - COMPACT_AFTER_MS, done) // HOUR_MS * HOUR_MS
    compacted = compact(store, project, environment, compact_before)
    raw_cutoff = min(now_ms - round(raw_s * 1000), done)
    rollup_cutoff = now_ms - round(rollups_s * 1000)
    p = "%s" if store.dialect == "postgresql" else "?"
    in_env = (
        f"series_id IN (SELECT id FROM metric_series WHERE project = {p} AND environment = {p})"
    )
    with store.db.write("expire metric samples") as conn:
        raw = conn.exec_driver_sql(
            f"DELETE FROM metric_samples WHERE {in_env} AND ts < {p}",
            (project, environment, raw_cutoff),
        ).rowcount
        packed = conn.exec_driver_sql(
            f"SELECT coalesce(sum(count), 0) FROM metric_chunks WHERE {in_env} AND end_ts < {p}",
            (project, environment, raw_cutoff),
        ).scalar()
        conn.exec_driver_sql(
            f"DELETE FROM metric_chunks WHERE {in_env} AND end_ts < {p}",
            (project, environment, raw_cutoff),
        )
        old = conn.exec_driver_sql(
            f"DELETE FROM metric_rollups WHERE {in_env} AND ts < {p}",
            (project, environment, rollup_cutoff),
        ).rowcount
    return RetentionReport(rows, compacted, raw + int(packed or 0), old)


def compact(store: Store, project: str, environment: str, before_ms: int) -> int:
    """Pack the raw rows of complete hours before `before_ms` into chunks; returns how
    many samples were packed."""
    from shipway.store.tables import metric_marks

    name = f"compact:{project}/{environment}"[:100]
    with store.db.read("read compaction mark") as conn:
        mark = conn.execute(
            sa.select(metric_marks.c.value).where(metric_marks.c.name == name)
        ).scalar_one_or_none()
    if mark is None:
        oldest = _oldest_minute(store, project, environment)
        if oldest is None:
            return 0
        mark = oldest // HOUR_MS * HOUR_MS
    packed = 0
    start = int(mark)
    while start + HOUR_MS <= before_ms:
        packed += _compact_hour(store, project, environment, start, name)
        start += HOUR_MS
    return packed


def _compact_hour(store: Store, project: str, environment: str, start: int, mark: str) -> int:
    import numpy as np

    from shipway.monitor.metrics.storage import collect_rows
    from shipway.store.tables import metric_chunks, metric_marks

    p = "%s" if store.dialect == "postgresql" else "?"
    in_env = (
        f"series_id IN (SELECT id FROM metric_series WHERE project = {p} AND environment = {p})"
    )
    stop = start + HOUR_MS
    with store.db.write("compact metric samples") as conn:
        rows = conn.exec_driver_sql(
            f"SELECT series_id, ts, value FROM metric_samples WHERE {in_env} "
            f"AND ts >= {p} AND ts < {p} ORDER BY series_id, ts",
            (project, environment, start, stop),
        ).fetchall()
        existing = conn.exec_driver_sql(
            f"SELECT series_id, ts, vals FROM metric_chunks WHERE {in_env} AND start_ts = {p}",
            (project, environment, start),
        ).fetchall()
        series: dict[int, list[tuple[Any, Any]]] = {}
        for series_id, ts_blob, vals_blob in existing:
            series.setdefault(int(series_id), []).append(
                (np.frombuffer(ts_blob, "<i8"), np.frombuffer(vals_blob, "<f8"))
            )
        collect_rows(series, rows)
        chunks = []
        for series_id, pieces in series.items():
            ts_all = np.concatenate([piece[0] for piece in pieces])
            values = np.concatenate([piece[1] for piece in pieces])
            ts_all, first = np.unique(ts_all, return_index=True)
            values = values[first]
            chunks.append(
                {
                    "series_id": series_id,
                    "start_ts": start,
                    "end_ts": int(ts_all[-1]),
                    "count": len(ts_all),
                    "ts": ts_all.astype("<i8").tobytes(),
                    "vals": values.astype("<f8").tobytes(),
                }
            )
        if chunks:
            insert = store.db.insert(metric_chunks)
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["series_id", "start_ts"],
                    set_={c: insert.excluded[c] for c in ("end_ts", "count", "ts", "vals")},
                ),
                chunks,
            )
            conn.exec_driver_sql(
                f"DELETE FROM metric_samples WHERE {in_env} AND ts >= {p} AND ts < {p}",
                (project, environment, start, stop),
            )
        upsert = store.db.insert(metric_marks).values(name=mark, value=stop)
        conn.execute(upsert.on_conflict_do_update(index_elements=["name"], set_={"value": stop}))
    return len(rows)


def _mark_name(project: str, environment: str) -> str:
    return f"rollup:{project}/{environment}"[:100]


def _roll_up(store: Store, project: str, environment: str, end_ms: int) -> tuple[int, int]:
    """Roll up every complete minute before `end_ms` not rolled up yet; returns the new
    watermark and how many rollup rows were written."""
    from shipway.store.tables import metric_marks

    name = _mark_name(project, environment)
    with store.db.read("read rollup mark") as conn:
        mark = conn.execute(
            sa.select(metric_marks.c.value).where(metric_marks.c.name == name)
        ).scalar_one_or_none()
    if mark is None:
        mark = _oldest_minute(store, project, environment)
        if mark is None:
            return end_ms, 0
    written = 0
    start = int(mark)
    while start < end_ms:
        stop = min(end_ms, start + ROLLUP_BATCH_MINUTES * MINUTE_MS)
        written += _roll_up_batch(store, project, environment, start, stop, name)
        start = stop
    return max(int(mark), end_ms), written


def _oldest_minute(store: Store, project: str, environment: str) -> int | None:
    p = "%s" if store.dialect == "postgresql" else "?"
    with store.db.read("read oldest sample") as conn:
        oldest = conn.exec_driver_sql(
            "SELECT min(s.ts) FROM metric_samples s JOIN metric_series m ON m.id = s.series_id "
            f"WHERE m.project = {p} AND m.environment = {p}",
            (project, environment),
        ).scalar()
    return None if oldest is None else int(oldest) // MINUTE_MS * MINUTE_MS


def _roll_up_batch(
    store: Store, project: str, environment: str, start: int, stop: int, mark: str
) -> int:
    from shipway.store.tables import metric_marks, metric_rollups

    p = "%s" if store.dialect == "postgresql" else "?"
    with store.db.write("roll up metric samples") as conn:
        rows = conn.exec_driver_sql(
            "SELECT s.series_id, s.ts, s.value FROM metric_samples s "
            "JOIN metric_series m ON m.id = s.series_id "
            f"WHERE m.project = {p} AND m.environment = {p} AND s.ts >= {p} AND s.ts < {p} "
            "ORDER BY s.series_id, s.ts",
            (project, environment, start, stop),
        ).fetchall()
        rollups = _minutes(rows)
        if rollups:
            insert = store.db.insert(metric_rollups)
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["series_id", "ts"],
                    set_={c: insert.excluded[c] for c in _ROLLUP_VALUES},
                ),
                rollups,
            )
        upsert = store.db.insert(metric_marks).values(name=mark, value=stop)
        conn.execute(upsert.on_conflict_do_update(index_elements=["name"], set_={"value": stop}))
    return len(rollups)


_ROLLUP_VALUES = ("last_ts", "last", "min", "max", "sum", "count")


def _minutes(rows: Any) -> list[dict[str, Any]]:
    """Rollup rows from raw (series_id, ts, value) rows sorted by series and time.
    Staleness markers (NULL) and NaN (SQLite's 'NaN' text) are left out, so a rollup's
    `last` is the last number of its minute and a minute of only NaN has no rollup."""
    out: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for series_id, ts, value in rows:
        if value is None or isinstance(value, str) or math.isnan(value):
            continue
        minute = int(ts) // MINUTE_MS * MINUTE_MS
        if current is None or current["series_id"] != series_id or current["ts"] != minute:
            current = {
                "series_id": series_id,
                "ts": minute,
                "last_ts": ts,
                "last": value,
                "min": value,
                "max": value,
                "sum": 0.0,
                "count": 0,
            }
            out.append(current)
        current["last_ts"], current["last"] = ts, value
        current["count"] += 1
        current["min"] = min(current["min"], value)
        current["max"] = max(current["max"], value)
        current["sum"] += value
    return out
