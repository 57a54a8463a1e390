"""Event log throughput: appends (one event per transaction, as the engine appends) and
read-back, on SQLite and, when a server is configured, PostgreSQL.

Reference, measured in the same run: the same work done with the raw driver on the same
schema and settings (sqlite3 with WAL, synchronous=NORMAL, BEGIN IMMEDIATE ... COMMIT per
event; psycopg with the same advisory lock), i.e. the ideal the store can approach.

    python benchmarks/event_log.py
    SHIPWAY_TEST_PG_URL=postgresql://postgres@127.0.0.1:5432/test python benchmarks/event_log.py

Target: >= 5,000 events/s appended on SQLite. The last line is the RESULT line; the exit
status is 1 when the target is missed.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from shipway.store import DeploymentRecord, Store, open_store
from shipway.store.events import PG_EVENT_LOCK_ID

SQLITE_EVENTS = 10_000
PG_EVENTS = 3_000
TIME_LIMIT_S = 8.0  # per measured loop, so the whole run stays well under 60 s
TARGET_EVENTS_PER_S = 5_000
DEPLOYMENT = "bench-deployment-0001"
INSERT_SQL = (
    "INSERT INTO events (deployment_id, correlation_id, type, stage, message, data,"
    " created_at, dedupe_key) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})"
    " ON CONFLICT (deployment_id, dedupe_key) DO NOTHING RETURNING id"
)


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def timed(count: int, step: Callable[[int], object]) -> tuple[int, float]:
    """Run `step(i)` up to `count` times (or until the time limit); (done, seconds)."""
    start = time.perf_counter()
    done = 0
    while done < count:
        step(done)
        done += 1
        if done % 500 == 0 and time.perf_counter() - start > TIME_LIMIT_S:
            break
    return done, time.perf_counter() - start


def prepare(store: Store) -> None:
    store.deployments.create(DeploymentRecord(id=DEPLOYMENT, project="bench", environment="b"))


def store_append(store: Store, count: int) -> float:
    for i in range(200):  # warm the pool and the statement cache
        store.events.append(DEPLOYMENT, "warm", "WARMUP", data={"i": i})

    def step(i: int) -> None:
        store.events.append(
            DEPLOYMENT, "corr", "STAGE_PROGRESS", stage="release", message="m", data={"i": i}
        )

    done, seconds = timed(count, step)
    return rate(done, seconds)


def store_read(store: Store) -> float:
    start, total, cursor = time.perf_counter(), 0, 0
    while batch := store.events.read(after=cursor, limit=1000):
        total += len(batch)
        cursor = batch[-1].id
    return rate(total, time.perf_counter() - start)


def raw_sqlite(path: Path, count: int) -> tuple[float, float]:
    """Append and read back with sqlite3 alone: same schema, pragmas and statements."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    for pragma in ("busy_timeout = 30000", "journal_mode = WAL", "synchronous = NORMAL"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute("PRAGMA foreign_keys = ON")
    sql = INSERT_SQL.format(p="?")

    def step(i: int) -> None:
        now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
        data = json.dumps({"i": i})
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(sql, (DEPLOYMENT, "corr", "STAGE_PROGRESS", "release", "m", data, now, None))
        conn.execute("COMMIT")

    done, seconds = timed(count, step)
    start, total, cursor = time.perf_counter(), 0, 0
    while True:
        conn.execute("BEGIN")
        rows = conn.execute(
            "SELECT * FROM events WHERE id > ? ORDER BY id LIMIT 1000", (cursor,)
        ).fetchall()
        conn.execute("COMMIT")
        if not rows:
            break
        for row in rows:
            json.loads(row[6])
            datetime.fromisoformat(row[7])
        total, cursor = total + len(rows), rows[-1][0]
    read_rate = rate(total, time.perf_counter() - start)
    conn.close()
    return rate(done, seconds), read_rate


def bench_sqlite() -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="shipway-bench-") as folder:
        with open_store(f"sqlite:///{folder}/store.db") as store:
            prepare(store)
            append = store_append(store, SQLITE_EVENTS)
            read = store_read(store)
        print(f"sqlite  store   append {append:>9,.0f} events/s   (one transaction per event)")
        print(f"sqlite  store   read   {read:>9,.0f} events/s")
        raw_path = Path(folder) / "raw.db"
        with open_store(f"sqlite:///{raw_path}") as store:
            prepare(store)  # the same migrated schema, then raw sqlite3 on it
        raw_append, raw_read = raw_sqlite(raw_path, SQLITE_EVENTS)
        print(f"sqlite  sqlite3 append {raw_append:>9,.0f} events/s   (reference)")
        print(f"sqlite  sqlite3 read   {raw_read:>9,.0f} events/s   (reference)")
        return append, raw_append


@contextmanager
def throwaway_pg_database(admin_url: str) -> Iterator[str]:
    import psycopg

    name = "shipway_bench_" + uuid.uuid4().hex[:12]
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin_url.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def raw_pg_append(url: str, count: int) -> float:
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as conn:
        sql = INSERT_SQL.format(p="%s")

        def step(i: int) -> None:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (PG_EVENT_LOCK_ID,))
                data = json.dumps({"i": i})
                row = (DEPLOYMENT, "c", "STAGE_PROGRESS", "release", "m", data, datetime.now(UTC))
                conn.execute(sql, (*row, None))

        done, seconds = timed(count, step)
    return rate(done, seconds)


def bench_postgres(admin_url: str) -> None:
    with throwaway_pg_database(admin_url) as url:
        with open_store(url) as store:
            prepare(store)
            append = store_append(store, PG_EVENTS)
            read = store_read(store)
        raw_append = raw_pg_append(url, PG_EVENTS)
    print(f"postgres store   append {append:>9,.0f} events/s   (one transaction per event)")
    print(f"postgres store   read   {read:>9,.0f} events/s")
    print(f"postgres psycopg append {raw_append:>9,.0f} events/s   (reference)")


def main() -> int:
    started = time.perf_counter()
    append, raw_append = bench_sqlite()
    admin_url = os.environ.get("SHIPWAY_BENCH_PG_URL") or os.environ.get("SHIPWAY_TEST_PG_URL")
    if admin_url:
        bench_postgres(admin_url)
    else:
        print("postgres skipped (set SHIPWAY_TEST_PG_URL or SHIPWAY_BENCH_PG_URL)")
    met = append >= TARGET_EVENTS_PER_S
    print(f"target  >= {TARGET_EVENTS_PER_S:,} events/s on sqlite: {'met' if met else 'MISSED'}")
    print(f"elapsed {time.perf_counter() - started:.1f} s")
    print(
        f"RESULT event_log_sqlite_append {append:.0f} events/s "
        f"(ref {raw_append:.0f} events/s, ratio {append / raw_append:.2f})"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
