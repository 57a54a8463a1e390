"""The Mann-Whitney U test written in monitor/analysis against SciPy's, on many random
samples: small ones (exact distribution), large ones, and ones full of ties (normal
approximation with the tie and continuity corrections)."""

from __future__ import annotations

import math
import random

import pytest
from scipy import stats  # type: ignore[import-untyped]

from shipway.monitor.analysis.mannwhitney import (
    _u_counts,
    hodges_lehmann,
    mann_whitney_u,
    median,
)

ALTERNATIVES = ("two-sided", "greater", "less")


def _sample(rng: random.Random, size: int, *, ties: bool, shift: float = 0.0) -> list[float]:
    if ties:  # few distinct values: many ties within and across the samples
        return [float(rng.randint(0, 4)) + shift for _ in range(size)]
    return [rng.gauss(shift, 1.0) for _ in range(size)]


def _agree(x: list[float], y: list[float], method: str) -> None:
    for alternative in ALTERNATIVES:
        ours = mann_whitney_u(x, y, alternative=alternative, method=method)  # type: ignore[arg-type]
        theirs = stats.mannwhitneyu(x, y, alternative=alternative, method=method)
        assert ours.statistic == pytest.approx(float(theirs.statistic), abs=1e-9)
        assert ours.pvalue == pytest.approx(float(theirs.pvalue), rel=1e-9, abs=1e-12), (
            x,
            y,
            alternative,
        )


@pytest.mark.parametrize("seed", range(60))
def test_small_samples_without_ties_match_scipy_exactly(seed: int) -> None:
    rng = random.Random(seed)
    x = _sample(rng, rng.randint(1, 10), ties=False, shift=rng.choice([0.0, 0.5, 2.0]))
    y = _sample(rng, rng.randint(1, 10), ties=False)
    _agree(x, y, "exact")
    _agree(x, y, "auto")


@pytest.mark.parametrize("seed", range(60))
def test_samples_with_ties_match_scipy_asymptotic(seed: int) -> None:
    rng = random.Random(1000 + seed)
    x = _sample(rng, rng.randint(2, 60), ties=True, shift=rng.choice([0.0, 1.0]))
    y = _sample(rng, rng.randint(2, 60), ties=True)
    _agree(x, y, "asymptotic")
    _agree(x, y, "auto")


@pytest.mark.parametrize("seed", range(30))
def test_large_samples_match_scipy(seed: int) -> None:
    rng = random.Random(5000 + seed)
    x = _sample(rng, rng.randint(9, 300), ties=False, shift=rng.choice([0.0, 0.2]))
    y = _sample(rng, rng.randint(9, 300), ties=False)
    _agree(x, y, "auto")
    ours = mann_whitney_u(x, y, use_continuity=False, method="asymptotic")
    theirs = stats.mannwhitneyu(x, y, use_continuity=False, method="asymptotic")
    assert ours.pvalue == pytest.approx(float(theirs.pvalue), rel=1e-9, abs=1e-12)


def test_the_exact_distribution_counts_every_ordering() -> None:
    for m, n in [(1, 1), (2, 3), (4, 4), (5, 9), (8, 8)]:
        counts = _u_counts(m, n)
        assert len(counts) == m * n + 1
        assert sum(counts) == math.comb(m + n, m)
        assert counts == counts[::-1]  # symmetric around m*n/2


def test_auto_uses_the_exact_test_only_for_small_samples_without_ties() -> None:
    assert mann_whitney_u([1, 2, 3], [4, 5, 6]).method == "exact"
    assert mann_whitney_u([1, 2, 2], [4, 5, 6]).method == "asymptotic"
    assert mann_whitney_u(list(range(9)), list(range(10, 19))).method == "asymptotic"


def test_identical_constant_samples_show_no_difference() -> None:
    result = mann_whitney_u([0.1] * 8, [0.1] * 8)
    assert result.pvalue == 1.0


def test_two_separate_constant_levels_are_significant() -> None:
    # Error ratios of two releases, each flat: all ties within a sample.
    result = mann_whitney_u([0.2] * 8, [0.1] * 8, alternative="greater")
    theirs = stats.mannwhitneyu([0.2] * 8, [0.1] * 8, alternative="greater")
    assert result.pvalue == pytest.approx(float(theirs.pvalue))
    assert result.pvalue < 0.001


def test_empty_samples_are_refused() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        mann_whitney_u([], [1.0])
    with pytest.raises(ValueError, match="non-empty"):
        hodges_lehmann([1.0], [])


def test_hodges_lehmann_is_the_median_of_pairwise_differences() -> None:
    assert hodges_lehmann([3.0, 4.0, 5.0], [1.0, 2.0]) == 2.5
    rng = random.Random(7)
    x = [rng.gauss(2.0, 1.0) for _ in range(400)]
    y = [rng.gauss(0.0, 1.0) for _ in range(400)]
    assert hodges_lehmann(x, y) == pytest.approx(2.0, abs=0.2)
    assert median([5.0, 1.0, 3.0, 2.0]) == 2.5
