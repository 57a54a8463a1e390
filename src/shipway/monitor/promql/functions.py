"""Functions of the subset. `rate`, `increase` and `delta` follow Prometheus 2.42's
`extrapolatedRate` (counter resets, extrapolation to the range edges unless the gap there
is over 1.1 average intervals, never below a counter's zero point), `irate` its
`instantValue`, and `histogram_quantile` its `bucketQuantile` (linear interpolation inside
the bucket, monotonicity forced, the +Inf bucket required).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from shipway.monitor.promql.ast import Call, VectorSelector
from shipway.monitor.promql.values import (
    NAME,
    FloatArray,
    IntArray,
    Scalar,
    SeriesData,
    StepSeries,
    Value,
    Vector,
    label_key,
    stale_mask,
    without_name,
)

if TYPE_CHECKING:
    from shipway.monitor.promql.engine import Engine


def call(engine: Engine, expr: Call) -> Value:
    name = expr.func
    if name in ("rate", "increase", "delta", "irate"):
        sel = expr.args[0]
        assert isinstance(sel, VectorSelector) and sel.range_ms is not None
        return _range_function(engine, name, sel)
    if name == "time":
        return Scalar(engine.steps / 1000.0)
    if name == "histogram_quantile":
        q = engine._eval(expr.args[0])
        vector = engine._eval(expr.args[1])
        assert isinstance(q, Scalar) and isinstance(vector, list)
        return histogram_quantile(q.values, vector, len(engine.steps))
    inner = engine._eval(expr.args[0])
    if name == "vector":
        assert isinstance(inner, Scalar)
        return [StepSeries({}, inner.values, np.ones(len(engine.steps), dtype=bool))]
    assert isinstance(inner, list)
    if name == "scalar":
        return _scalar(inner, len(engine.steps))
    if name == "abs":
        return [StepSeries(without_name(s.labels), np.abs(s.values), s.present) for s in inner]
    raise AssertionError(name)


def _scalar(vector: Vector, n: int) -> Scalar:
    count = np.zeros(n, dtype=np.int64)
    value = np.full(n, math.nan)
    for s in vector:
        count += s.present
        value = np.where(s.present, s.values, value)
    return Scalar(np.where(count == 1, value, math.nan))


def _range_function(engine: Engine, name: str, sel: VectorSelector) -> Vector:
    assert sel.range_ms is not None
    out: Vector = []
    ends = engine.steps - sel.offset_ms
    starts = ends - sel.range_ms
    for series in engine.fetch(sel, sel.range_ms):
        stale = stale_mask(series.values)
        if stale.any():
            series = SeriesData(series.labels, series.ts[~stale], series.values[~stale])
        if len(series.ts) < 2:
            continue
        lo = np.searchsorted(series.ts, starts, side="left")
        hi = np.searchsorted(series.ts, ends, side="right")
        if name == "irate":
            values, present = _irate(series, lo, hi)
        else:
            values, present = _extrapolated(
                series, lo, hi, starts, ends, sel.range_ms, name != "delta", name == "rate"
            )
        if present.any():
            out.append(StepSeries(without_name(series.labels), values, present))
    return out


def _extrapolated(
    series: SeriesData,
    lo: IntArray,
    hi: IntArray,
    starts: IntArray,
    ends: IntArray,
    range_ms: int,
    is_counter: bool,
    is_rate: bool,
) -> tuple[FloatArray, np.ndarray]:
    ts, vals = series.ts, series.values
    present = (hi - lo) >= 2
    first_i = np.clip(lo, 0, len(ts) - 1)
    last_i = np.clip(hi - 1, 0, len(ts) - 1)
    first_v, last_v = vals[first_i], vals[last_i]
    result = last_v - first_v
    if is_counter:
        # The value before each reset is added back: a prefix sum over the series makes
        # the correction of any window two lookups.
        fell = vals[1:] < vals[:-1]
        if fell.any():
            drops = np.where(fell, vals[:-1], 0.0)
            corrections = np.concatenate(([0.0], np.cumsum(drops)))
            result = result + (corrections[last_i] - corrections[first_i])
    first_t, last_t = ts[first_i], ts[last_i]
    duration_to_start = (first_t - starts) / 1000.0
    duration_to_end = (ends - last_t) / 1000.0
    sampled = (last_t - first_t) / 1000.0
    count_minus_one = np.maximum(hi - lo - 1, 1)
    average = sampled / count_minus_one
    if is_counter:
        # A counter cannot go below zero: extrapolate at most to its zero point.
        to_zero = sampled * (first_v / result)
        use_zero = (result > 0) & (first_v >= 0) & (to_zero < duration_to_start)
        duration_to_start = np.where(use_zero, to_zero, duration_to_start)
    threshold = average * 1.1
    interval = sampled + np.where(duration_to_start < threshold, duration_to_start, average / 2)
    interval = interval + np.where(duration_to_end < threshold, duration_to_end, average / 2)
    result = result * (interval / sampled)
    if is_rate:
        result = result / (range_ms / 1000.0)
    return result, present


def _irate(series: SeriesData, lo: IntArray, hi: IntArray) -> tuple[FloatArray, np.ndarray]:
    ts, vals = series.ts, series.values
    last_i = np.clip(hi - 1, 0, len(ts) - 1)
    prev_i = np.clip(hi - 2, 0, len(ts) - 1)
    last_v, prev_v = vals[last_i], vals[prev_i]
    diff = np.where(last_v < prev_v, last_v, last_v - prev_v)
    interval = (ts[last_i] - ts[prev_i]) / 1000.0
    present = ((hi - lo) >= 2) & (interval != 0)
    return diff / interval, present


def histogram_quantile(q: FloatArray, vector: Vector, n: int) -> Vector:
    groups: dict[tuple[tuple[str, str], ...], list[tuple[float, StepSeries]]] = {}
    labels_of: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
    for s in vector:
        try:
            upper = float(s.labels.get("le", ""))
        except ValueError:
            continue  # no or a malformed `le`: Prometheus skips the sample
        labels = {k: v for k, v in s.labels.items() if k not in ("le", NAME)}
        key = label_key(labels)
        labels_of[key] = labels
        groups.setdefault(key, []).append((upper, s))
    out: Vector = []
    for key, buckets in groups.items():
        values = np.full(n, math.nan)
        present = np.zeros(n, dtype=bool)
        for i in range(n):
            at = [(upper, float(s.values[i])) for upper, s in buckets if s.present[i]]
            if at:
                present[i] = True
                values[i] = bucket_quantile(float(q[i]), at)
        out.append(StepSeries(labels_of[key], values, present))
    return out


def bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus's bucketQuantile over (upper bound, cumulative count) pairs."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    buckets = sorted(buckets, key=lambda b: b[0])
    if not math.isinf(buckets[-1][0]) or buckets[-1][0] < 0:
        return math.nan
    merged: list[list[float]] = []
    for upper, count in buckets:  # buckets with equal bounds are added up
        if merged and merged[-1][0] == upper:
            merged[-1][1] += count
        else:
            merged.append([upper, count])
    highest = -math.inf
    for bucket in merged:  # counts must not fall from one bucket to the next
        if bucket[1] > highest:
            highest = bucket[1]
        elif bucket[1] < highest:
            bucket[1] = highest
    if len(merged) < 2:
        return math.nan
    observations = merged[-1][1]
    if observations == 0:
        return math.nan
    rank = q * observations
    b = next((i for i in range(len(merged) - 1) if merged[i][1] >= rank), len(merged) - 1)
    if b == len(merged) - 1:
        return merged[-2][0]
    if b == 0 and merged[0][0] <= 0:
        return merged[0][0]
    start, end, count = 0.0, merged[b][0], merged[b][1]
    if b > 0:
        start = merged[b - 1][0]
        count -= merged[b - 1][1]
        rank -= merged[b - 1][1]
    return start + (end - start) * (rank / count)
