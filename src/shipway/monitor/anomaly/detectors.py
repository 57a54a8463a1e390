"""Anomaly detectors: each judges one new point of a series against what came before it.

- `zscore`: robust z-score, (x - median) / (1.4826 * MAD) over the rolling window. The
  constant makes the MAD estimate the standard deviation of normal data. When more than
  half of the window is one value the MAD is 0; the mean absolute deviation (times
  sqrt(pi/2), its own constant) stands in, and a window of one value throughout only
  calls a different value an anomaly.
- `ewma`: an EWMA control chart. The window's older part is the in-control reference
  (mean, sigma); the statistic z = lambda * x + (1 - lambda) * z' starts at that mean
  and runs over the newest ceil(2 / lambda) - 1 points of the window (its effective
  memory) and the new point; it is an anomaly when it leaves
  mean +/- L * sigma * sqrt(lambda / (2 - lambda) * (1 - (1 - lambda)^(2n))).
  It sees small sustained shifts that a single-point test misses.
- `seasonal`: the same time of day on previous days (up to `SEASONAL_DAYS`), one median
  per day; used once `SEASONAL_MIN_DAYS` days have data, and silent before.

Every detector returns a `Judgement` with the value it expected and the score (in
standard deviations) of the point; `anomalous` when |score| > threshold.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

#: 1 / Phi^-1(3/4): the MAD of normal data times this estimates its standard deviation.
MAD_CONSISTENCY = 1.4826
#: sqrt(pi / 2): the same for the mean absolute deviation around the median.
MEAN_AD_CONSISTENCY = math.sqrt(math.pi / 2)
#: A window with fewer points than this judges nothing.
MIN_HISTORY = 20
#: Previous days the seasonal baseline looks at, and how many must have data.
SEASONAL_DAYS = 7
SEASONAL_MIN_DAYS = 3
DAY = 86400.0
#: Scores are capped here, so a point off a perfectly flat window stays a finite number.
MAX_SCORE = 1e6


@dataclass(frozen=True)
class Judgement:
    """What one detector made of one point."""

    detector: str
    value: float
    expected: float
    score: float
    anomalous: bool


def _scale(values: Sequence[float], center: float) -> float:
    """A robust standard deviation of `values` around `center`, never 0."""
    mad = statistics.median(abs(v - center) for v in values)
    if mad > 0:
        return MAD_CONSISTENCY * mad
    mean_ad = sum(abs(v - center) for v in values) / len(values)
    if mean_ad > 0:
        return MEAN_AD_CONSISTENCY * mean_ad
    return 0.0


def _score(value: float, expected: float, scale: float) -> float:
    if scale > 0:
        score = (value - expected) / scale
    elif value == expected:
        score = 0.0
    else:  # a flat history and a different value
        score = math.copysign(MAX_SCORE, value - expected)
    return max(-MAX_SCORE, min(MAX_SCORE, score))


def robust_zscore(history: Sequence[float], value: float, threshold: float) -> Judgement | None:
    """The robust z-score of `value` against `history`; None with too little history."""
    if len(history) < MIN_HISTORY:
        return None
    center = statistics.median(history)
    score = _score(value, center, _scale(history, center))
    return Judgement("zscore", value, center, score, abs(score) > threshold)


def ewma(
    history: Sequence[float], value: float, threshold: float, smoothing: float
) -> Judgement | None:
    """The EWMA statistic over the newest points and `value`, against control limits
    from the older part of `history` (the in-control reference)."""
    span = max(1, math.ceil(2 / smoothing) - 1)
    reference, recent = history[:-span], history[-span:]
    if len(reference) < MIN_HISTORY:
        return None
    mean = statistics.fmean(reference)
    sigma = statistics.pstdev(reference, mean)
    statistic = mean
    for x in (*recent, value):
        statistic = smoothing * x + (1 - smoothing) * statistic
    n = len(recent) + 1
    factor = math.sqrt(smoothing / (2 - smoothing) * (1 - (1 - smoothing) ** (2 * n)))
    score = _score(statistic, mean, sigma * factor)
    return Judgement("ewma", value, mean, score, abs(score) > threshold)


def seasonal(
    previous_days: Sequence[Sequence[float]], value: float, threshold: float
) -> Judgement | None:
    """`value` against the same time of day on previous days (one list of values per
    day); None until `SEASONAL_MIN_DAYS` days have values."""
    days = [list(day) for day in previous_days if day]
    if len(days) < SEASONAL_MIN_DAYS:
        return None
    expected = statistics.median(statistics.median(day) for day in days)
    pooled = [v for day in days for v in day]
    score = _score(value, expected, _scale(pooled, expected))
    return Judgement("seasonal", value, expected, score, abs(score) > threshold)


def scan(
    points: Sequence[tuple[float, float]],
    window: float,
    judge: str,
    threshold: float,
    smoothing: float = 0.3,
) -> list[tuple[float, Judgement]]:
    """Judge every point of a series (time, value) with `judge` ("zscore" or "ewma")
    against the points of the `window` seconds before it."""
    found = []
    start = 0
    for index, (at, value) in enumerate(points):
        while points[start][0] < at - window:
            start += 1
        history = [v for _, v in points[start:index]]
        if judge == "zscore":
            result = robust_zscore(history, value, threshold)
        else:
            result = ewma(history, value, threshold, smoothing)
        if result is not None:
            found.append((at, result))
    return found
