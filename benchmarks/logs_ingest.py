"""Log ingestion and search on the SQLite state store.

1. Ingestion: 200,000 raw lines (JSON lines, uvicorn text, combined access log, logfmt,
   some with credentials to redact) redacted, parsed and stored through `LogRepository`
   in batches of 5,000, each batch one transaction with its FTS5 index entries, as the
   agent's collector stores them. Target: >= 50,000 lines/s. Reference: the same rows,
   already parsed, inserted with a bare `sqlite3` executemany into a table of the same
   columns without indexes or full-text search (the floor of writing them at all).
2. Search over 1,000,000 stored lines (built with executemany, FTS index rebuilt once):
   a full-text query, a level filter, and a service + time window + text query, each
   returning the newest 100 of one environment; the slowest median of the three.
   Target: <= 200 ms. Reference: the same text found with a LIKE scan (no index).

    python benchmarks/logs_ingest.py
"""

from __future__ import annotations

import json
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from shipway.monitor.logs import LogQuery, LogRepository
from shipway.monitor.logs.ingest import SourceLabels, ingest
from shipway.monitor.logs.redaction import Redactor
from shipway.store import open_store

INGEST_LINES = 200_000
BATCH = 5_000
SEARCH_LINES = 1_000_000
RUNS = 5
INGEST_TARGET = 50_000
SEARCH_TARGET = 0.200
WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india")


def raw_lines(n: int, rng: random.Random) -> list[str]:
    out = []
    for i in range(n):
        kind = i % 5
        word = rng.choice(WORDS)
        if kind == 0:
            level = rng.choice(["info", "info", "warning", "error"])
            out.append(
                json.dumps(
                    {
                        "ts": f"2026-12-03T18:{i // 60000 % 60:02d}:{i // 1000 % 60:02d}Z",
                        "level": level,
                        "logger": "notes.api",
                        "message": f"request {i} {word} handled",
                        "duration_ms": i % 97,
                    }
                )
            )
        elif kind == 1:
            out.append(
                f'INFO:     127.0.0.1:{40000 + i % 20000} - "GET /api/notes/{i} HTTP/1.1" 200 OK'
            )
        elif kind == 2:
            status = rng.choice([200, 200, 404, 500])
            out.append(
                f'10.0.0.{i % 250} - - [03/Dec/2026:18:00:{i % 60:02d} +0000] "GET /{word}/{i} '
                f'HTTP/1.1" {status} {i % 5000} "-" "bench/1.0"'
            )
        elif kind == 3:
            out.append(f'level=info msg="cache {word}" key=user:{i} hit=true took={i % 13}ms')
        else:
            out.append(
                f"2026-12-03 18:00:00,{i % 1000:03d} ERROR worker: job {i} {word} failed, "
                f"password=pw{i}"
            )
    return out


def bench_ingest(home: Path) -> tuple[float, float]:
    lines = raw_lines(INGEST_LINES, random.Random(1))
    redactor = Redactor({"DB_PASSWORD": "s3cr3t-bench-value"})
    labels = SourceLabels("bench", "dev", "api", "/var/log/api.log", "bench-dev-r1", "auto")
    with open_store(f"sqlite:///{home / 'ingest.db'}") as store:
        repo = LogRepository(store.db)
        start = time.perf_counter()
        parsed = []
        for at in range(0, len(lines), BATCH):
            batch = ingest(lines[at : at + BATCH], labels, redactor, 1.0)
            repo.append(batch)
            parsed.extend(batch)
        ours = len(lines) / (time.perf_counter() - start)
        assert repo.search(LogQuery("bench", "dev", search="bravo", limit=1))
    rows = [
        (
            line.project,
            line.environment,
            line.service,
            line.source,
            line.release,
            line.level,
            20,
            line.time,
            line.message,
            json.dumps(line.fields),
        )
        for line in parsed
    ]
    conn = sqlite3.connect(home / "reference.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE lines (id INTEGER PRIMARY KEY, project, environment, service, source,"
        " release, level, severity, time, message, fields)"
    )
    start = time.perf_counter()
    for at in range(0, len(rows), BATCH):
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO lines (project, environment, service, source, release, level,"
            " severity, time, message, fields) VALUES (?,?,?,?,?,?,?,?,?,?)",
            rows[at : at + BATCH],
        )
        conn.execute("COMMIT")
    reference = len(rows) / (time.perf_counter() - start)
    conn.close()
    return ours, reference


def build_million(path: Path) -> None:
    """1,000,000 lines in 2 environments x 4 services over a day, straight into the
    migrated table with executemany, then the FTS index rebuilt once."""
    with open_store(f"sqlite:///{path}"):
        pass
    rng = random.Random(2)
    texts = [" ".join(rng.choice(WORDS) for _ in range(4)) for _ in range(997)]
    levels = [("info", 20)] * 6 + [("debug", 10)] * 2 + [("warn", 30), ("error", 40)]
    t0 = 1_796_320_000.0
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    for start in range(0, SEARCH_LINES, 100_000):
        rows = []
        for i in range(start, start + 100_000):
            level, severity = levels[i // 2 % 10]
            rare = " zanzibar" if i % 5000 == 0 else ""
            rows.append(
                (
                    "prod" if i % 2 else "dev",
                    f"svc{i % 4}",
                    level,
                    severity,
                    t0 + i * 0.0864,
                    f"{level.upper()} request {i} {texts[i % 997]}{rare}",
                )
            )
        _insert(conn, rows)
    conn.execute("COMMIT")
    conn.execute("INSERT INTO log_lines_fts(log_lines_fts) VALUES ('rebuild')")
    conn.execute("ANALYZE")
    conn.close()


def _insert(conn: sqlite3.Connection, rows: list[tuple[object, ...]]) -> None:
    conn.executemany(
        "INSERT INTO log_lines (project, environment, service, source, level, severity, time,"
        " message, fields) VALUES ('bench', ?, ?, '/var/log/x.log', ?, ?, ?, ?, '{}')",
        rows,
    )


def median_seconds(action: object) -> float:
    assert callable(action)
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_search(home: Path) -> tuple[float, float]:
    path = home / "million.db"
    start = time.perf_counter()
    build_million(path)
    print(f"built {SEARCH_LINES:,} lines in {time.perf_counter() - start:.1f}s")
    t_end = 1_796_320_000.0 + SEARCH_LINES * 0.0864
    with open_store(f"sqlite:///{path}") as store:
        repo = LogRepository(store.db)
        queries = {
            "full text 'zanzibar'": LogQuery("bench", "dev", search="zanzibar"),
            "full text 'alpha AND india'": LogQuery("bench", "dev", search="alpha AND india"),
            "level >= error": LogQuery("bench", "dev", min_severity=40),
            "service, last hour, 'echo'": LogQuery(
                "bench", "prod", service="svc1", since=t_end - 3600, search="echo"
            ),
        }
        results = {}
        for name, query in queries.items():
            found = repo.search(query)
            assert found, name
            results[name] = median_seconds(lambda q=query: repo.search(q))
            print(f"search {name}: {len(found)} lines, median {results[name] * 1000:.1f} ms")
    conn = sqlite3.connect(path)
    reference = median_seconds(
        lambda: conn.execute(
            "SELECT * FROM log_lines WHERE project='bench' AND environment='dev'"
            " AND message LIKE '%zanzibar%' ORDER BY time DESC LIMIT 100"
        ).fetchall()
    )
    conn.close()
    print(f"reference LIKE scan for 'zanzibar': median {reference * 1000:.1f} ms")
    return max(results.values()), reference


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        ours, reference = bench_ingest(home)
        print(
            f"ingest: {ours:,.0f} lines/s (target >= {INGEST_TARGET:,}); "
            f"bare sqlite3 insert {reference:,.0f} lines/s"
        )
        print(
            f"RESULT logs_ingest {ours:.0f} lines/s "
            f"(ref {reference:.0f} lines/s, ratio {ours / reference:.3f})"
        )
        worst, like = bench_search(home)
        print(
            f"search over {SEARCH_LINES:,} lines: slowest median {worst * 1000:.1f} ms "
            f"(target <= {SEARCH_TARGET * 1000:.0f} ms)"
        )
        print(
            f"RESULT logs_search {worst * 1000:.1f} ms "
            f"(ref {like * 1000:.1f} ms, ratio {worst / like:.3f})"
        )


if __name__ == "__main__":
    main()
