"""The Mann-Whitney U test (Wilcoxon rank-sum), written here so the analysis needs no
SciPy at run time, and the Hodges-Lehmann estimate of the shift between two samples.

The p-value is exact (the distribution of U counted by a recursion) when the samples are
small and have no ties, and otherwise comes from the normal approximation with the tie
correction of the variance and a continuity correction: the same choices as
`scipy.stats.mannwhitneyu(method="auto")`, against which the tests check it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Alternative = Literal["two-sided", "greater", "less"]
Method = Literal["auto", "exact", "asymptotic"]

#: Beyond this size on both sides, the exact distribution is not used (as SciPy's "auto").
EXACT_LIMIT = 8
#: The exact distribution is only counted up to this many observations in all.
EXACT_MAX_TOTAL = 200


@dataclass(frozen=True)
class MannWhitneyResult:
    """U of the first sample, and the p-value of the chosen alternative."""

    statistic: float
    pvalue: float
    method: Literal["exact", "asymptotic"]


def mann_whitney_u(
    x: Sequence[float],
    y: Sequence[float],
    *,
    alternative: Alternative = "two-sided",
    method: Method = "auto",
    use_continuity: bool = True,
) -> MannWhitneyResult:
    """Test whether `x` tends to be larger ("greater"), smaller ("less") or either
    ("two-sided") than `y`. Raises ValueError for an empty sample."""
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        raise ValueError("the Mann-Whitney U test needs two non-empty samples")
    ranks, tie_sizes = _ranks([*x, *y])
    u1 = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    u2 = n1 * n2 - u1
    if alternative == "greater":
        u, factor = u1, 1
    elif alternative == "less":
        u, factor = u2, 1
    else:
        u, factor = max(u1, u2), 2
    ties = any(size > 1 for size in tie_sizes)
    chosen = method
    if chosen == "auto":
        small = n1 <= EXACT_LIMIT or n2 <= EXACT_LIMIT
        chosen = "exact" if small and not ties and n1 + n2 <= EXACT_MAX_TOTAL else "asymptotic"
    if chosen == "exact":
        p = _exact_sf(round(u), n1, n2)
    else:
        p = _normal_sf(_z(u, n1, n2, tie_sizes, use_continuity))
    return MannWhitneyResult(u1, min(1.0, max(0.0, p * factor)), chosen)


def hodges_lehmann(x: Sequence[float], y: Sequence[float]) -> float:
    """The median of every difference x_i - y_j: the shift of `x` relative to `y` that
    goes with the rank-sum test (robust where a difference of means is not)."""
    if not x or not y:
        raise ValueError("the Hodges-Lehmann estimate needs two non-empty samples")
    return median([a - b for a in x for b in y])


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        raise ValueError("the median of no values")
    middle = n // 2
    return ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _ranks(values: Sequence[float]) -> tuple[list[float], list[int]]:
    """Ranks from 1, tied values sharing their average rank; and the size of every group
    of equal values."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    sizes = []
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        average = (start + end) / 2 + 1
        for position in range(start, end + 1):
            ranks[order[position]] = average
        sizes.append(end - start + 1)
        start = end + 1
    return ranks, sizes


def _z(u: float, n1: int, n2: int, tie_sizes: Sequence[int], continuity: bool) -> float:
    n = n1 + n2
    tie_term = sum(t**3 - t for t in tie_sizes)
    variance = n1 * n2 / 12 * ((n + 1) - (tie_term / (n * (n - 1)) if n > 1 else 0.0))
    numerator = u - n1 * n2 / 2 - (0.5 if continuity else 0.0)
    if variance <= 0:
        # Every value equal: no evidence either way.
        return 0.0 if numerator <= 0 else math.inf
    return numerator / math.sqrt(variance)


def _normal_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


def _exact_sf(u: int, n1: int, n2: int) -> float:
    """P(U >= u) under the null hypothesis, from the counts of every U."""
    counts = _u_counts(min(n1, n2), max(n1, n2))
    total = sum(counts)
    if u <= 0:
        return 1.0
    return sum(counts[u:]) / total


@functools.lru_cache(maxsize=64)
def _u_counts(m: int, n: int) -> tuple[int, ...]:
    """How many of the C(m+n, m) orderings of two samples give each U = 0 .. m*n.

    These are the coefficients of the Gaussian binomial [m+n choose m] in q, built one
    observation at a time: N(u; m, n) = N(u - n; m - 1, n) + N(u; m, n - 1).
    """
    previous: list[list[int]] = [[1] for _ in range(n + 1)]  # i = 0: U is always 0
    for i in range(1, m + 1):
        current: list[list[int]] = [[1]]  # j = 0: U is always 0
        for j in range(1, n + 1):
            counts = [0] * (i * j + 1)
            for u, c in enumerate(previous[j]):  # (i - 1, j), shifted by j
                counts[u + j] += c
            for u, c in enumerate(current[j - 1]):  # (i, j - 1)
                counts[u] += c
            current.append(counts)
        previous = current
    return tuple(previous[n])
