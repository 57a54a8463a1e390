"""Queries over an environment's metrics: PromQL (the subset in `monitor/promql/`) at an
instant or over a range, against the state store, or against the Prometheus named by the
environment's `monitoring.prometheus_url`.

    instant_query(store, "notes", "dev", 'sum by (status) (rate(http_requests_total[1m]))',
                  time.time())  ->  [({"status": "200"}, 4.2), ...]

`matchers` adds equality matchers to every selector (e.g. {"release": "notes-dev-r3"}).
Times are Unix seconds. A bad expression raises InputError with a one-line message.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from shipway.errors import InputError, ShipwayError
from shipway.monitor.metrics.storage import write_samples
from shipway.monitor.promql.ast import Matcher

if TYPE_CHECKING:
    from shipway.manifest.monitoring import MonitoringSpec
    from shipway.monitor.metrics.prometheus import PrometheusClient
    from shipway.monitor.promql.values import SeriesData
    from shipway.store import Store

__all__ = ["instant_query", "range_query", "write_samples"]

InstantResult = list[tuple[dict[str, str], float]]
RangeResult = list[tuple[dict[str, str], list[tuple[float, float]]]]
MAX_POINTS = 11_000  # per series, as Prometheus limits a range query's resolution


def instant_query(
    store: Store,
    project: str,
    environment: str,
    expr: str,
    at: float,
    *,
    matchers: Mapping[str, str] | None = None,
    monitoring: MonitoringSpec | None = None,
) -> InstantResult:
    """The value of `expr` at `at`: one (labels, value) per series, or [({}, v)] for a
    scalar."""
    remote = _prometheus(store, project, environment, monitoring)
    if remote is not None:
        return remote.instant(expr, at, matchers)
    result = _evaluate(store, project, environment, expr, [_ms(at)], matchers)
    return [(labels, points[0][1]) for labels, points in result]


def range_query(
    store: Store,
    project: str,
    environment: str,
    expr: str,
    start: float,
    end: float,
    step: float,
    *,
    matchers: Mapping[str, str] | None = None,
    monitoring: MonitoringSpec | None = None,
) -> RangeResult:
    """`expr` evaluated at start, start + step, ... <= end: per series, its (time, value)
    points where it has a value."""
    if step <= 0:
        raise InputError("the step of a range query must be more than zero")
    if end < start:
        raise InputError("the end of a range query is before its start")
    start_ms, end_ms, step_ms = _ms(start), _ms(end), _ms(step)
    if step_ms <= 0:
        raise InputError("the step of a range query must be at least 1ms")
    if (end_ms - start_ms) // step_ms + 1 > MAX_POINTS:
        raise InputError(
            f"a range query may have at most {MAX_POINTS} points per series: "
            "use a longer step or a shorter range"
        )
    remote = _prometheus(store, project, environment, monitoring)
    if remote is not None:
        return remote.range(expr, start, end, step, matchers)
    steps = list(range(start_ms, end_ms + 1, step_ms))
    return _evaluate(store, project, environment, expr, steps, matchers)


def _ms(seconds: float) -> int:
    if not math.isfinite(seconds):
        raise InputError(f"invalid time {seconds!r}")
    return round(seconds * 1000)


def _evaluate(
    store: Store,
    project: str,
    environment: str,
    expr: str,
    steps: Sequence[int],
    matchers: Mapping[str, str] | None,
) -> RangeResult:
    import numpy as np

    from shipway.monitor.promql.engine import Engine, result_series
    from shipway.monitor.promql.parser import parse
    from shipway.monitor.promql.values import Scalar

    tree = parse(expr)
    extra = tuple(Matcher(k, "=", v) for k, v in (matchers or {}).items())
    source = StoreSource(store, project, environment, extra)
    grid = np.asarray(steps, dtype=np.int64)
    value = Engine(source, grid).evaluate(tree)
    times = [ms / 1000.0 for ms in steps]
    if isinstance(value, Scalar):
        return [({}, list(zip(times, value.values.tolist(), strict=True)))]
    found: RangeResult = []
    for series in sorted(result_series(value), key=lambda s: sorted(s.labels.items())):
        values = series.values.tolist()
        points = [(times[i], values[i]) for i in np.flatnonzero(series.present).tolist()]
        found.append((dict(series.labels), points))
    return found


class StoreSource:
    """The engine's `SampleSource` over one environment's series in the state store."""

    def __init__(
        self, store: Store, project: str, environment: str, extra: Sequence[Matcher] = ()
    ) -> None:
        self.store = store
        self.project = project
        self.environment = environment
        self.extra = tuple(extra)

    def select(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[SeriesData]:
        from shipway.monitor.promql.values import NAME, SeriesData, matches

        wanted = [*matchers, *self.extra]
        name = next((m.value for m in wanted if m.name == NAME and m.op == "="), None)
        refs = self.store.metrics.series(self.project, self.environment, name)
        chosen = []
        for ref in refs:
            labels = {**ref.labels, NAME: ref.name}
            if matches(labels, wanted):
                chosen.append((ref.id, labels))
        if not chosen:
            return []
        columns = self.store.metrics.samples([i for i, _ in chosen], start_ms, end_ms)
        found = []
        for series_id, labels in chosen:
            data = columns.get(series_id)
            if data is None or not len(data.ts):
                continue
            found.append(SeriesData(labels, data.ts, data.values))
        return found


def _prometheus(
    store: Store, project: str, environment: str, monitoring: MonitoringSpec | None
) -> PrometheusClient | None:
    """The Prometheus to ask when the environment's monitoring section names one: from
    `monitoring` when given, else from the manifest of the environment's newest deployment
    (through its active release)."""
    from shipway.monitor.metrics.prometheus import PrometheusClient

    if monitoring is None:
        monitoring = _current_monitoring(store, project, environment)
    if monitoring is None or not monitoring.prometheus_url:
        return None
    return PrometheusClient(str(monitoring.prometheus_url))


def _current_monitoring(store: Store, project: str, environment: str) -> MonitoringSpec | None:
    from shipway.monitor.targets import monitoring_of

    release = store.releases.active(project, environment)
    if release is None:
        return None
    try:
        return monitoring_of(store, release.deployment_id, environment)
    except ShipwayError:
        return None
