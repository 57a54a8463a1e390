"""Binary operators (one-to-one vector matching with `on`/`ignoring`, vector/scalar,
`bool`, the set operators) and the aggregations sum, avg, min, max, count, with
Prometheus's rules for which labels survive."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from shipway.errors import InputError
from shipway.monitor.promql.ast import COMPARISON_OPS, SET_OPS, Aggregate, Binary, VectorMatching
from shipway.monitor.promql.values import (
    NAME,
    FloatArray,
    Scalar,
    StepSeries,
    Value,
    Vector,
    label_key,
    without_name,
)

_ARITH: dict[str, Callable[[FloatArray, FloatArray], FloatArray]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "%": np.fmod,  # Go's math.Mod: the sign of the dividend
    "^": np.power,
}
_COMPARE: dict[str, Callable[[FloatArray, FloatArray], np.ndarray]] = {
    "==": np.equal,
    "!=": np.not_equal,
    ">": np.greater,
    "<": np.less,
    ">=": np.greater_equal,
    "<=": np.less_equal,
}
Key = tuple[tuple[str, str], ...]


def binary(expr: Binary, lhs: Value, rhs: Value) -> Value:
    op = expr.op
    if isinstance(lhs, Scalar) and isinstance(rhs, Scalar):
        if op in COMPARISON_OPS:
            return Scalar(_COMPARE[op](lhs.values, rhs.values).astype(np.float64))
        return Scalar(_ARITH[op](lhs.values, rhs.values))
    if isinstance(lhs, list) and isinstance(rhs, list):
        if op in SET_OPS:
            return _set_operation(op, lhs, rhs, expr.matching)
        return _vector_vector(expr, lhs, rhs)
    if isinstance(lhs, list):
        assert isinstance(rhs, Scalar)
        return _vector_scalar(expr, lhs, rhs.values, swap=False)
    assert isinstance(lhs, Scalar) and isinstance(rhs, list)
    return _vector_scalar(expr, rhs, lhs.values, swap=True)


def _apply(
    op: str, left: FloatArray, right: FloatArray, return_bool: bool
) -> tuple[FloatArray, np.ndarray | None]:
    """Values and, for a filtering comparison, which instants are kept."""
    if op in COMPARISON_OPS:
        truth = _COMPARE[op](left, right)
        if return_bool:
            return truth.astype(np.float64), None
        return left, truth
    return _ARITH[op](left, right), None


def _vector_scalar(expr: Binary, vector: Vector, scalar: FloatArray, *, swap: bool) -> Vector:
    out: Vector = []
    drop = expr.op not in COMPARISON_OPS or expr.return_bool
    for s in vector:
        left, right = (scalar, s.values) if swap else (s.values, scalar)
        values, keep = _apply(expr.op, left, right, expr.return_bool)
        if keep is not None and swap:
            values = s.values  # a filtering comparison keeps the vector's value
        present = s.present if keep is None else s.present & keep
        labels = without_name(s.labels) if drop else dict(s.labels)
        out.append(StepSeries(labels, values, present))
    return out


def _signature(labels: dict[str, str], matching: VectorMatching | None) -> Key:
    if matching is not None and matching.on:
        return tuple(sorted((k, v) for k, v in labels.items() if k in matching.labels))
    ignored = set(matching.labels) if matching is not None else set()
    ignored.add(NAME)
    return tuple(sorted((k, v) for k, v in labels.items() if k not in ignored))


def _by_signature(
    vector: Vector, matching: VectorMatching | None, side: str
) -> dict[Key, StepSeries]:
    """One series per signature; two with a value at the same instant cannot be matched
    one-to-one."""
    found: dict[Key, StepSeries] = {}
    for s in vector:
        sig = _signature(s.labels, matching)
        seen = found.get(sig)
        if seen is None:
            found[sig] = s
            continue
        if (seen.present & s.present).any():
            raise InputError(
                f"found duplicate series for the match group {dict(sig)} on the {side} "
                "hand-side of the operation; many-to-many matching is not supported"
            )
        found[sig] = StepSeries(
            seen.labels, np.where(s.present, s.values, seen.values), seen.present | s.present
        )
    return found


def _vector_vector(expr: Binary, lhs: Vector, rhs: Vector) -> Vector:
    right = _by_signature(rhs, expr.matching, "right")
    _by_signature(lhs, expr.matching, "left")
    drop = expr.op not in COMPARISON_OPS or expr.return_bool
    out: Vector = []
    for s in lhs:
        other = right.get(_signature(s.labels, expr.matching))
        if other is None:
            continue
        values, keep = _apply(expr.op, s.values, other.values, expr.return_bool)
        present = s.present & other.present
        if keep is not None:
            present = present & keep
        labels = without_name(s.labels) if drop else dict(s.labels)
        if expr.matching is not None and expr.matching.on:
            labels = {k: v for k, v in labels.items() if k in expr.matching.labels}
        elif expr.matching is not None:
            labels = {k: v for k, v in labels.items() if k not in expr.matching.labels}
        out.append(StepSeries(labels, values, present))
    return out


def _set_operation(op: str, lhs: Vector, rhs: Vector, matching: VectorMatching | None) -> Vector:
    def coverage(vector: Vector) -> dict[Key, np.ndarray]:
        found: dict[Key, np.ndarray] = {}
        for s in vector:
            sig = _signature(s.labels, matching)
            found[sig] = found[sig] | s.present if sig in found else s.present.copy()
        return found

    if op == "or":
        left = coverage(lhs)
        out = list(lhs)
        for s in rhs:
            covered = left.get(_signature(s.labels, matching))
            present = s.present if covered is None else s.present & ~covered
            out.append(StepSeries(s.labels, s.values, present))
        return out
    right = coverage(rhs)
    out = []
    for s in lhs:
        covered = right.get(_signature(s.labels, matching))
        if covered is None:
            covered = np.zeros_like(s.present)
        present = s.present & covered if op == "and" else s.present & ~covered
        out.append(StepSeries(s.labels, s.values, present))
    return out


def aggregate(expr: Aggregate, vector: Vector, n: int) -> Vector:
    groups: dict[Key, list[StepSeries]] = {}
    labels_of: dict[Key, dict[str, str]] = {}
    for s in vector:
        if expr.without:
            dropped = set(expr.grouping) | {NAME}
            labels = {k: v for k, v in s.labels.items() if k not in dropped}
        else:
            labels = {k: v for k, v in s.labels.items() if k in expr.grouping}
        key = label_key(labels)
        labels_of[key] = labels
        groups.setdefault(key, []).append(s)
    out: Vector = []
    for key, members in groups.items():
        values, present = _reduce(expr.op, members, n)
        out.append(StepSeries(labels_of[key], values, present))
    return out


def _reduce(op: str, members: list[StepSeries], n: int) -> tuple[FloatArray, np.ndarray]:
    present = np.zeros(n, dtype=bool)
    count = np.zeros(n, dtype=np.float64)
    for s in members:
        present |= s.present
        count += s.present
    if op == "count":
        return count, present
    if op in ("sum", "avg"):
        total = np.zeros(n)
        for s in members:
            total = total + np.where(s.present, s.values, 0.0)
        return (total if op == "sum" else total / count), present
    # min/max: NaN only when every value is NaN, as Prometheus's comparisons give.
    pick = np.fmin if op == "min" else np.fmax
    result = np.full(n, math.nan)
    for s in members:
        result = pick(result, np.where(s.present, s.values, math.nan))
    return result, present
