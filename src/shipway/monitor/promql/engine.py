"""Evaluation of a parsed expression over a grid of instants (one instant for an instant
query), with Prometheus 2.x semantics: an instant selector takes the newest sample at most
`lookback` (5m) old, inclusive; a range selector `[r]` takes samples with
t - r <= time <= t; functions and arithmetic drop the metric name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from shipway.errors import InputError
from shipway.monitor.promql import functions, operators
from shipway.monitor.promql.ast import (
    Aggregate,
    Binary,
    Call,
    Expr,
    Matcher,
    NumberLiteral,
    Paren,
    StringLiteral,
    Unary,
    VectorSelector,
)
from shipway.monitor.promql.values import (
    NAME,
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

LOOKBACK_MS = 300_000


class SampleSource(Protocol):
    """Where selectors read from: series matching every matcher (a name matcher is on
    `__name__`) with their samples at start_ms <= time <= end_ms, oldest first."""

    def select(
        self, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> list[SeriesData]: ...


class Engine:
    """Evaluate expressions at `steps` (Unix milliseconds, ascending)."""

    def __init__(
        self, source: SampleSource, steps: IntArray, *, lookback_ms: int = LOOKBACK_MS
    ) -> None:
        self.source = source
        self.steps = steps
        self.lookback_ms = lookback_ms

    def evaluate(self, expr: Expr) -> Value:
        with np.errstate(all="ignore"):
            return self._eval(expr)

    def _eval(self, expr: Expr) -> Value:
        if isinstance(expr, NumberLiteral):
            return Scalar(np.full(len(self.steps), expr.value))
        if isinstance(expr, Paren):
            return self._eval(expr.expr)
        if isinstance(expr, VectorSelector):
            return self.instant(expr)
        if isinstance(expr, Unary):
            inner = self._eval(expr.expr)
            if isinstance(inner, Scalar):
                return Scalar(-inner.values)
            return [StepSeries(without_name(s.labels), -s.values, s.present) for s in inner]
        if isinstance(expr, Binary):
            return operators.binary(expr, self._eval(expr.lhs), self._eval(expr.rhs))
        if isinstance(expr, Aggregate):
            inner = self._eval(expr.expr)
            assert isinstance(inner, list)
            return operators.aggregate(expr, inner, len(self.steps))
        if isinstance(expr, Call):
            return functions.call(self, expr)
        if isinstance(expr, StringLiteral):
            raise InputError("a string is not a valid expression result")
        raise InputError(f"unsupported expression {type(expr).__name__}")

    def fetch(self, sel: VectorSelector, window_ms: int) -> list[SeriesData]:
        """Series of `sel` with the samples any instant of the grid may need."""
        matchers = list(sel.matchers)
        if sel.name is not None:
            matchers.insert(0, Matcher(NAME, "=", sel.name))
        start = int(self.steps[0]) - sel.offset_ms - window_ms
        end = int(self.steps[-1]) - sel.offset_ms
        return self.source.select(matchers, start, end)

    def instant(self, sel: VectorSelector) -> Vector:
        out: Vector = []
        times = self.steps - sel.offset_ms
        for series in self.fetch(sel, self.lookback_ms):
            if not len(series.ts):
                continue
            idx = np.searchsorted(series.ts, times, side="right") - 1
            safe = np.clip(idx, 0, None)
            present = (idx >= 0) & (series.ts[safe] >= times - self.lookback_ms)
            # A staleness marker as the newest sample ends the series there at once.
            present &= ~stale_mask(series.values)[safe]
            if present.any():
                out.append(StepSeries(dict(series.labels), series.values[safe], present))
        return out


def result_series(vector: Vector) -> Vector:
    """`vector` with series of equal label sets merged; two with a value at the same
    instant is Prometheus's "same labelset" error."""
    merged: dict[tuple[tuple[str, str], ...], StepSeries] = {}
    for s in vector:
        key = label_key(s.labels)
        seen = merged.get(key)
        if seen is None:
            merged[key] = StepSeries(s.labels, s.values.copy(), s.present.copy())
            continue
        if (seen.present & s.present).any():
            raise InputError(
                f"vector cannot contain metrics with the same labelset {_format_labels(s.labels)}"
            )
        seen.values = np.where(s.present, s.values, seen.values)
        seen.present = seen.present | s.present
    return [s for s in merged.values() if s.present.any()]


def _format_labels(labels: dict[str, str]) -> str:
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != NAME)
    return labels.get(NAME, "") + "{" + inner + "}"
