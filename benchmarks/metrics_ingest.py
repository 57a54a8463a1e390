"""Metrics storage: ingestion into the SQLite state store and a long range query.

1. Ingest 100 series x 24 h at a 15 s scrape interval (576,000 samples) through
   `write_samples` in batches of 5,000 (one transaction each, series ids cached).
   Target: >= 100,000 samples/s. Reference: a bare sqlite3 `executemany` of the same
   (series_id, ts, value) rows into the same WITHOUT ROWID table, same pragmas and batches.
2. Run the retention step once, as the agent's collector does every minute (1-minute
   rollups, raw samples older than an hour packed into hourly chunks), timed apart.
3. Query `sum(rate(bench_requests_total[5m]))` over the whole 24 h at a 15 s step
   (5,761 instants x 100 series): one cold run (printed), then the p95 of 30 warm runs.
   Target: p95 <= 100 ms. Reference: reading the
   same samples as rows with bare sqlite3 (the floor of a query over unpacked rows).

    python benchmarks/metrics_ingest.py
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from shipway.monitor.metrics.retention import apply_retention
from shipway.monitor.query import range_query, write_samples
from shipway.store import open_store

SERIES = 100
INTERVAL_S = 15
DAY_S = 86_400
BATCH = 5_000
QUERY_RUNS = 30
INGEST_TARGET = 100_000
QUERY_TARGET_MS = 100.0
T0 = 1_764_000_000.0


def samples() -> list[tuple[str, dict[str, str], float, float]]:
    rows = []
    for k in range(DAY_S // INTERVAL_S):
        t = T0 + k * INTERVAL_S
        for s in range(SERIES):
            labels = {"job": "api", "instance": f"10.0.0.{s}:8080", "path": "/notes"}
            rows.append(("bench_requests_total", labels, t, float(k * (s + 1))))
    return rows


def ingest(root: Path, rows: list[tuple[str, dict[str, str], float, float]]) -> float:
    with open_store(f"sqlite:///{root / 'state.db'}") as store:
        started = time.perf_counter()
        for start in range(0, len(rows), BATCH):
            write_samples(store, "bench", "prod", rows[start : start + BATCH])
        return len(rows) / (time.perf_counter() - started)


def reference_ingest(root: Path, rows: list[tuple[str, dict[str, str], float, float]]) -> float:
    conn = sqlite3.connect(root / "ref.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(
        "CREATE TABLE samples (series_id INTEGER, ts INTEGER, value REAL, "
        "PRIMARY KEY (series_id, ts)) WITHOUT ROWID"
    )
    ids = {labels["instance"]: i for i, (_, labels, _, _) in enumerate(rows[:SERIES])}
    tuples = [(ids[labels["instance"]], round(t * 1000), v) for _, labels, t, v in rows]
    started = time.perf_counter()
    for start in range(0, len(tuples), BATCH):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO samples VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            tuples[start : start + BATCH],
        )
        conn.execute("COMMIT")
    rate = len(tuples) / (time.perf_counter() - started)
    conn.close()
    return rate


def retention(root: Path) -> float:
    with open_store(f"sqlite:///{root / 'state.db'}") as store:
        started = time.perf_counter()
        apply_retention(
            store, "bench", "prod", raw_s=DAY_S + 3600, rollups_s=30 * DAY_S, now=T0 + DAY_S + 60
        )
        return time.perf_counter() - started


def query_p95(root: Path) -> tuple[float, float]:
    timings = []
    with open_store(f"sqlite:///{root / 'state.db'}") as store:
        for _ in range(QUERY_RUNS + 1):
            started = time.perf_counter()
            result = range_query(
                store,
                "bench",
                "prod",
                "sum(rate(bench_requests_total[5m]))",
                T0,
                T0 + DAY_S,
                INTERVAL_S,
            )
            timings.append((time.perf_counter() - started) * 1000)
            assert len(result) == 1 and len(result[0][1]) > 5000
    return timings[0], _p95(timings[1:])


def reference_read_p95(root: Path) -> float:
    conn = sqlite3.connect(root / "ref.db")
    timings = []
    for _ in range(QUERY_RUNS + 1):
        started = time.perf_counter()
        rows = conn.execute(
            "SELECT series_id, ts, value FROM samples WHERE ts >= ? ORDER BY series_id, ts",
            (0,),
        ).fetchall()
        timings.append((time.perf_counter() - started) * 1000)
        assert len(rows) == SERIES * (DAY_S // INTERVAL_S)
    conn.close()
    return _p95(timings[1:])


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> int:
    rows = samples()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ours = ingest(root, rows)
        ref = reference_ingest(root, rows)
        print(
            f"ingest: {ours:,.0f} samples/s (bare sqlite3 {ref:,.0f}/s), target {INGEST_TARGET:,}/s"
        )
        took = retention(root)
        print(f"retention step over the day (rollups + packing): {took:.1f} s")
        cold, p95 = query_p95(root)
        ref_read = reference_read_p95(root)
        print(
            f"query 24h/15s x {SERIES} series: cold {cold:.1f} ms, warm p95 {p95:.1f} ms "
            f"(bare read of the raw rows {ref_read:.1f} ms), target {QUERY_TARGET_MS:.0f} ms"
        )
    print(
        f"RESULT metrics_query_p95 {p95:.1f} ms (ref {ref_read:.1f} ms, ratio {p95 / ref_read:.2f})"
    )
    print(
        f"RESULT metrics_ingest {ours:.0f} samples/s "
        f"(ref {ref:.0f} samples/s, ratio {ours / ref:.2f})"
    )
    return 0 if ours >= INGEST_TARGET and p95 <= QUERY_TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
