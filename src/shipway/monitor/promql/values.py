"""The values the engine computes with, over a grid of N evaluation instants:
a scalar is N floats, an instant vector is a list of series each with N values and a
mask of the instants where it has a value."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from shipway.monitor.promql.ast import Matcher

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
NAME = "__name__"
#: Prometheus's staleness marker, a NaN with its own bits (also in metrics/storage.py).
STALE_BITS = 0x7FF0000000000002


def stale_mask(values: FloatArray) -> BoolArray:
    """Which values are staleness markers (a series ended there)."""
    found: BoolArray = values.view(np.uint64) == np.uint64(STALE_BITS)
    return found


@dataclass
class SeriesData:
    """Stored samples of one series: labels (with `__name__`), times in ms, values."""

    labels: dict[str, str]
    ts: IntArray
    values: FloatArray


@dataclass
class StepSeries:
    """One series of an instant vector over the evaluation grid."""

    labels: dict[str, str]
    values: FloatArray
    present: BoolArray


Vector = list[StepSeries]


@dataclass
class Scalar:
    values: FloatArray


Value = Vector | Scalar


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    # NOTE: Prometheus anchors label regexes: `=~"5.."` must match the whole value.
    return re.compile(f"(?:{pattern})", re.DOTALL)


def matches(labels: Mapping[str, str], matchers: Sequence[Matcher]) -> bool:
    """Whether a series' labels (with `__name__`) satisfy every matcher; a missing label
    is the empty string, as in Prometheus."""
    for m in matchers:
        value = labels.get(m.name, "")
        if m.op == "=":
            ok = value == m.value
        elif m.op == "!=":
            ok = value != m.value
        elif m.op == "=~":
            ok = _regex(m.value).fullmatch(value) is not None
        else:
            ok = _regex(m.value).fullmatch(value) is None
        if not ok:
            return False
    return True


def without_name(labels: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in labels.items() if k != NAME}


def label_key(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))
