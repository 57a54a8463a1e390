"""The metric store on SQLite and PostgreSQL: series ids, samples, NaN, duplicates,
retention and rollups, and queries that read rollups beyond the raw window."""

from __future__ import annotations

import math

import pytest
import sqlalchemy as sa

from shipway.monitor.metrics.retention import apply_retention
from shipway.monitor.query import instant_query, range_query, write_samples
from shipway.store import Store, open_store

T0 = 1_764_000_000.0  # a whole minute


def _count(store: Store, table: str) -> int:
    with store.db.read() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_one_series_per_label_set_and_samples_read_back(metrics_store: Store) -> None:
    samples = [
        ("req_total", {"job": "api", "code": "200"}, T0, 1.0),
        ("req_total", {"code": "200", "job": "api"}, T0 + 15, 2.0),  # same set, other order
        ("req_total", {"job": "api", "code": "500"}, T0, 7.0),
        ("temp", {"job": "api"}, T0, math.nan),
        ("temp", {"job": "api"}, T0 + 15, math.inf),
    ]
    assert write_samples(metrics_store, "shop", "dev", samples) == 5
    series = metrics_store.metrics.series("shop", "dev", "req_total")
    assert sorted(s.labels["code"] for s in series) == ["200", "500"]
    ok = next(s for s in series if s.labels["code"] == "200")
    read = metrics_store.metrics.samples([ok.id], 0, 10**14)[ok.id]
    assert read.ts.tolist() == [int(T0 * 1000), int((T0 + 15) * 1000)]
    assert read.values.tolist() == [1.0, 2.0]
    (temp,) = metrics_store.metrics.series("shop", "dev", "temp")
    values = metrics_store.metrics.samples([temp.id], 0, 10**14)[temp.id].values.tolist()
    assert math.isnan(values[0]) and values[1] == math.inf
    # Other environments do not see these series.
    assert metrics_store.metrics.series("shop", "prod") == []
    assert metrics_store.metrics.environments() == [("shop", "dev")]


def test_a_duplicate_timestamp_keeps_the_first_value(metrics_store: Store) -> None:
    write_samples(metrics_store, "shop", "dev", [("g", {}, T0, 1.0)])
    write_samples(metrics_store, "shop", "dev", [("g", {}, T0, 5.0), ("g", {}, T0 + 1, 6.0)])
    assert instant_query(metrics_store, "shop", "dev", "g", T0) == [({"__name__": "g"}, 1.0)]
    assert _count(metrics_store, "metric_samples") == 2


def test_another_process_store_reuses_the_series(metrics_store: Store, state_url: str) -> None:
    write_samples(metrics_store, "shop", "dev", [("g", {"a": "1"}, T0, 1.0)])
    with open_store(state_url) as other:
        write_samples(other, "shop", "dev", [("g", {"a": "1"}, T0 + 1, 2.0)])
    assert _count(metrics_store, "metric_series") == 1
    assert instant_query(metrics_store, "shop", "dev", "g", T0 + 1)[0][1] == 2.0


def test_retention_rolls_up_then_expires_and_queries_read_rollups(metrics_store: Store) -> None:
    # Two hours of a counter scraped every 15 s, growing by 1 per second.
    rows = [("c_total", {"job": "api"}, T0 + i * 15, float(i * 15)) for i in range(8 * 60)]
    write_samples(metrics_store, "shop", "dev", rows)
    now = T0 + 2 * 3600
    report = apply_retention(
        metrics_store, "shop", "dev", raw_s=3600, rollups_s=30 * 86400, now=now
    )
    assert report.rollup_rows == 120  # one per series and minute
    assert report.compacted == 4 * 60  # the first complete hour over an hour old
    assert report.raw_deleted == 4 * 60  # ... is also past the raw window
    assert _count(metrics_store, "metric_samples") == 4 * 60
    assert _count(metrics_store, "metric_chunks") == 0
    with metrics_store.db.read() as conn:
        row = conn.execute(
            sa.text(
                "SELECT ts, last_ts, last, min, max, sum, count FROM metric_rollups "
                "ORDER BY ts LIMIT 1"
            )
        ).one()
    t0_ms = int(T0 * 1000)
    assert tuple(row) == (t0_ms, t0_ms + 45_000, 45.0, 0.0, 45.0, 90.0, 4)
    # Beyond the raw window, the query reads rollups: the counter still rises 1/s.
    old = instant_query(metrics_store, "shop", "dev", "rate(c_total[5m])", T0 + 1800)
    assert len(old) == 1 and abs(old[0][1] - 1.0) < 1e-9
    recent = instant_query(metrics_store, "shop", "dev", "rate(c_total[1m])", T0 + 5400)
    assert abs(recent[0][1] - 1.0) < 1e-9
    # A range across the boundary has points on both sides.
    points = range_query(metrics_store, "shop", "dev", "c_total", T0 + 3000, T0 + 4200, 300)[0][1]
    assert [t for t, _ in points] == [T0 + 3000 + k * 300 for k in range(5)]
    # Running again rolls up nothing twice; rollups expire after their own window.
    again = apply_retention(metrics_store, "shop", "dev", raw_s=3600, rollups_s=30 * 86400, now=now)
    assert again.rollup_rows == 0 and again.raw_deleted == 0
    gone = apply_retention(metrics_store, "shop", "dev", raw_s=3600, rollups_s=60, now=now)
    assert gone.rollups_deleted == 119
    assert _count(metrics_store, "metric_rollups") == 1


def test_compacted_chunks_answer_exactly_like_raw_rows(metrics_store: Store) -> None:
    rows = []
    for i in range(3 * 240):  # three hours, two series, a reset and a NaN
        t = T0 + i * 15 + (i % 7) * 0.001
        rows.append(("c_total", {"job": "a"}, t, float(i % 500)))
        rows.append(("g", {"job": "b"}, t, math.nan if i == 300 else float(i % 13)))
    write_samples(metrics_store, "shop", "dev", rows)
    exprs = ["rate(c_total[5m])", "increase(c_total[1h])", "g", "max(g) - min(g)"]

    def answers() -> list[object]:
        return [
            range_query(metrics_store, "shop", "dev", e, T0 + 100, T0 + 3 * 3600, 61.5)
            for e in exprs
        ]

    before = answers()
    report = apply_retention(
        metrics_store, "shop", "dev", raw_s=86400, rollups_s=30 * 86400, now=T0 + 3 * 3600 + 30
    )
    assert report.compacted == 2 * 2 * 240 and report.raw_deleted == 0
    assert _count(metrics_store, "metric_chunks") == 4
    assert _count(metrics_store, "metric_samples") == 2 * 240
    # A late sample for a packed hour stays a row; reads merge it with the chunk.
    write_samples(metrics_store, "shop", "dev", [("g", {"job": "b"}, T0 + 7.5, 99.0)])
    assert repr(answers()[:2]) == repr(before[:2])
    assert instant_query(metrics_store, "shop", "dev", "g", T0 + 8)[0][1] == 99.0


def test_matchers_restrict_every_selector(metrics_store: Store) -> None:
    rows = []
    for release, per_s in (("shop-dev-r1", 1.0), ("shop-dev-r2", 3.0)):
        for k in range(10):
            labels = {"job": "api", "release": release}
            rows.append(("req_total", labels, T0 + k * 15, k * 15 * per_s))
            rows.append(("err_total", labels, T0 + k * 15, k * 15 * per_s / 10))
    write_samples(metrics_store, "shop", "dev", rows)
    expr = "sum(rate(err_total[1m])) / sum(rate(req_total[1m]))"
    at = T0 + 135
    both = instant_query(metrics_store, "shop", "dev", "sum(rate(req_total[1m]))", at)
    assert both[0][1] == pytest.approx(4.0)
    one = instant_query(
        metrics_store,
        "shop",
        "dev",
        "sum(rate(req_total[1m]))",
        at,
        matchers={"release": "shop-dev-r2"},
    )
    assert one[0][1] == pytest.approx(3.0)
    ratio = instant_query(
        metrics_store, "shop", "dev", expr, at, matchers={"release": "shop-dev-r1"}
    )
    assert ratio[0][1] == pytest.approx(0.1)
    assert instant_query(metrics_store, "shop", "dev", expr, at, matchers={"release": "none"}) == []


def test_nan_and_staleness_markers_stay_apart_also_when_packed(metrics_store: Store) -> None:
    from shipway.monitor.metrics.storage import STALE_NAN, is_stale

    rows = [("g", {}, T0, 1.0), ("g", {}, T0 + 15, math.nan), ("g", {}, T0 + 30, STALE_NAN)]
    write_samples(metrics_store, "shop", "dev", rows)
    (ref,) = metrics_store.metrics.series("shop", "dev", "g")

    def read() -> list[float]:
        values: list[float] = metrics_store.metrics.samples([ref.id], 0, 10**14)[
            ref.id
        ].values.tolist()
        return values

    def kinds(values: list[float]) -> list[str]:
        return ["stale" if is_stale(v) else "nan" if math.isnan(v) else str(v) for v in values]

    assert kinds(read()) == ["1.0", "nan", "stale"]
    apply_retention(metrics_store, "shop", "dev", raw_s=86400, rollups_s=86400, now=T0 + 7200)
    assert _count(metrics_store, "metric_chunks") == 1
    assert kinds(read()) == ["1.0", "nan", "stale"]
    assert instant_query(metrics_store, "shop", "dev", "g", T0 + 60) == []
