"""The anomaly detectors on synthetic series with anomalies planted at known points."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from shipway.monitor.anomaly.detectors import (
    MAD_CONSISTENCY,
    MAX_SCORE,
    MIN_HISTORY,
    Judgement,
    ewma,
    robust_zscore,
    scan,
    seasonal,
)


def _series(
    n: int, rng: random.Random, level: float = 100.0, noise: float = 2.0
) -> list[tuple[float, float]]:
    return [(float(i * 60), rng.gauss(level, noise)) for i in range(n)]


def _flagged(found: list[tuple[float, Judgement]]) -> set[int]:
    return {int(at // 60) for at, j in found if j.anomalous}


def test_robust_zscore_finds_planted_spikes_and_nothing_else() -> None:
    rng = random.Random(11)
    points = _series(300, rng)
    spikes = {50: 140.0, 120: 55.0, 250: 130.0}
    for index, value in spikes.items():
        points[index] = (points[index][0], value)
    found = scan(points, window=3600, judge="zscore", threshold=5.0)
    assert _flagged(found) == set(spikes)


def test_robust_zscore_ignores_outliers_in_its_window() -> None:
    # A mean/stdev z-score is blinded by earlier outliers; median/MAD is not.
    history = [10.0, 10.5, 9.5, 10.2, 9.8, 10.1, 9.9] * 3 + [500.0, 600.0]
    judged = robust_zscore(history, 14.0, threshold=3.5)
    assert judged is not None and judged.anomalous
    center = statistics.median(history)
    assert judged.expected == center == 10.0
    mad = statistics.median(abs(v - center) for v in history)
    assert judged.score == pytest.approx((14.0 - center) / (MAD_CONSISTENCY * mad))
    mean = sum(history) / len(history)
    stdev = math.sqrt(sum((v - mean) ** 2 for v in history) / len(history))
    assert abs(14.0 - mean) / stdev < 1  # what a plain z-score would have said


def test_robust_zscore_guards_against_a_zero_mad() -> None:
    # More than half the window is one value: MAD = 0, the mean absolute deviation stands in.
    history = [5.0] * 14 + [6.0, 4.0, 7.0, 6.0, 4.0, 5.5]
    judged = robust_zscore(history, 5.5, threshold=3.5)
    assert judged is not None and math.isfinite(judged.score) and not judged.anomalous
    # A perfectly flat window: only a different value is anomalous, with a finite score.
    flat = robust_zscore([3.0] * 20, 3.0, threshold=3.5)
    assert flat is not None and flat.score == 0 and not flat.anomalous
    off = robust_zscore([3.0] * 20, 3.1, threshold=3.5)
    assert off is not None and off.anomalous and off.score == MAX_SCORE


def test_too_short_a_history_judges_nothing() -> None:
    assert robust_zscore([1.0, 2.0] * (MIN_HISTORY // 2 - 1), 100.0, 3.5) is None
    assert ewma([1.0, 2.0] * (MIN_HISTORY // 2), 100.0, 3.5, 0.3) is None  # reference too short


def test_ewma_finds_a_small_sustained_shift_the_zscore_misses() -> None:
    # From point 150 on, the level rises by 1.5 sigma: no single point is extreme.
    detected = zscore_hits = ewma_hits = false_alarms = 0
    seeds = range(30)
    for seed in seeds:
        rng = random.Random(seed)
        points = [(t, v + (1.5 if t >= 150 * 60 else 0.0)) for t, v in _series(240, rng, 100, 1)]
        zscore = _flagged(scan(points, window=3600, judge="zscore", threshold=3.5))
        shifted = _flagged(scan(points, window=3600, judge="ewma", threshold=3.5, smoothing=0.2))
        detected += any(150 <= i < 170 for i in shifted)
        zscore_hits += len({i for i in zscore if 150 <= i < 170})
        ewma_hits += len({i for i in shifted if 150 <= i < 170})
        false_alarms += len({i for i in zscore | shifted if i < 150})
    assert detected >= 0.9 * len(seeds)  # within 20 points of the shift
    assert ewma_hits > 4 * zscore_hits
    judged_before_shift = 2 * 130 * len(seeds)  # points 20..149, two detectors
    assert false_alarms / judged_before_shift < 0.01


def test_ewma_control_limits_follow_the_formula() -> None:
    reference, recent = [1.0, 3.0] * 10, [2.5, 2.5, 2.5]  # smoothing 0.5: a span of 3
    judged = ewma([*reference, *recent], 2.0, threshold=3.0, smoothing=0.5)
    assert judged is not None
    statistic = 2.0
    for x in (*recent, 2.0):
        statistic = 0.5 * x + 0.5 * statistic
    sigma = 1.0 * math.sqrt(0.5 / 1.5 * (1 - 0.5 ** (2 * 4)))
    assert judged.expected == 2.0
    assert judged.score == pytest.approx((statistic - 2.0) / sigma)
    assert ewma([*reference[:10], *recent], 2.0, 3.0, 0.5) is None  # too short a reference


def _daily(rng: random.Random, days: int, hour_value: float) -> list[list[float]]:
    return [[rng.gauss(hour_value, 3.0) for _ in range(60)] for _ in range(days)]


def test_seasonal_waits_for_three_days_of_history() -> None:
    rng = random.Random(2)
    assert seasonal(_daily(rng, 2, 200.0), 20.0, threshold=3.5) is None
    assert seasonal([[], [], [1.0, 2.0]], 20.0, threshold=3.5) is None
    judged = seasonal(_daily(rng, 3, 200.0), 20.0, threshold=3.5)
    assert judged is not None and judged.anomalous


def test_seasonal_knows_what_is_normal_for_this_hour() -> None:
    # Every day at this hour traffic peaks at 200 while the last hour was near 20: a
    # rolling window calls the peak an anomaly; the seasonal baseline does not, and it
    # does call a missing peak one.
    rng = random.Random(3)
    days = _daily(rng, 7, 200.0)
    peak = seasonal(days, 205.0, threshold=3.5)
    assert peak is not None and not peak.anomalous
    assert peak.expected == pytest.approx(200.0, abs=1.5)
    recent = [rng.gauss(20.0, 3.0) for _ in range(60)]
    rolling = robust_zscore(recent, 205.0, threshold=3.5)
    assert rolling is not None and rolling.anomalous
    missing = seasonal(days, 20.0, threshold=3.5)
    assert missing is not None and missing.anomalous and missing.score < 0
