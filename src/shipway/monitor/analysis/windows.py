"""Where the compared samples come from: each metric's query evaluated for one release
(`release="..."` added to every selector) over one window, at a fixed step.

The new release is watched for `duration` from the start of the observe stage; the
previous release over the `duration` that ended when the new one took over (its
`activated_at`), so both windows are equally long and neither mixes the two releases.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from shipway.manifest.monitoring import AnalysisSpec, MonitoringSpec
from shipway.monitor.query import range_query

if TYPE_CHECKING:
    from shipway.store import Store

#: The step when neither `analysis.step` nor a scrape interval says otherwise.
DEFAULT_STEP = 15.0
MIN_STEP = 1.0
MIN_EXPLICIT_STEP = 0.1


@dataclass(frozen=True)
class Window:
    """One release watched over [start, end] at `step`."""

    release: str
    start: float
    end: float
    step: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def analysis_step(monitoring: MonitoringSpec) -> float:
    """`analysis.step` (at least MIN_EXPLICIT_STEP), else the smallest scrape interval,
    never below MIN_STEP."""
    spec = monitoring.analysis
    if spec is not None and spec.step:
        return max(MIN_EXPLICIT_STEP, float(spec.step))
    intervals = [float(target.interval) for target in monitoring.scrape]
    return max(MIN_STEP, min(intervals, default=DEFAULT_STEP))


def windows(
    spec: AnalysisSpec,
    step: float,
    *,
    new_release: str,
    observe_from: float,
    previous_release: str,
    switched_at: float,
) -> tuple[Window, Window]:
    """The new release's window and the previous release's, equally long."""
    duration = float(spec.duration)
    new = Window(new_release, observe_from, observe_from + duration, step)
    baseline = Window(previous_release, switched_at - duration, switched_at, step)
    return new, baseline


def samples(
    store: Store,
    project: str,
    environment: str,
    query: str,
    window: Window,
    monitoring: MonitoringSpec | None = None,
) -> list[float]:
    """Every finite value of every series `query` gives for the window's release."""
    found = range_query(
        store,
        project,
        environment,
        query,
        window.start,
        window.end,
        window.step,
        matchers={"release": window.release},
        monitoring=monitoring,
    )
    return [float(v) for _, points in found for _, v in points if math.isfinite(v)]
