"""An expression tree back to PromQL text, for sending to a real Prometheus (with extra
matchers added to every selector)."""

from __future__ import annotations

import dataclasses
import json
import math

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


def with_matchers(expr: Expr, extra: tuple[Matcher, ...]) -> Expr:
    """`expr` with `extra` added to every selector."""
    if not extra:
        return expr
    if isinstance(expr, VectorSelector):
        return dataclasses.replace(expr, matchers=expr.matchers + extra)
    if isinstance(expr, Call):
        return Call(expr.func, tuple(with_matchers(a, extra) for a in expr.args))
    if isinstance(expr, Aggregate):
        return dataclasses.replace(expr, expr=with_matchers(expr.expr, extra))
    if isinstance(expr, Binary):
        return dataclasses.replace(
            expr, lhs=with_matchers(expr.lhs, extra), rhs=with_matchers(expr.rhs, extra)
        )
    if isinstance(expr, Unary | Paren):
        return dataclasses.replace(expr, expr=with_matchers(expr.expr, extra))
    return expr


def _duration(ms: int) -> str:
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def to_text(expr: Expr) -> str:
    if isinstance(expr, NumberLiteral):
        v = expr.value
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Inf" if v > 0 else "-Inf"
        return repr(v)
    if isinstance(expr, StringLiteral):
        return json.dumps(expr.value)
    if isinstance(expr, VectorSelector):
        inner = ",".join(f"{m.name}{m.op}{json.dumps(m.value)}" for m in expr.matchers)
        text = (expr.name or "") + ("{" + inner + "}" if inner or not expr.name else "")
        if expr.range_ms is not None:
            text += f"[{_duration(expr.range_ms)}]"
        if expr.offset_ms:
            sign = "-" if expr.offset_ms < 0 else ""
            text += f" offset {sign}{_duration(abs(expr.offset_ms))}"
        return text
    if isinstance(expr, Call):
        return f"{expr.func}({', '.join(to_text(a) for a in expr.args)})"
    if isinstance(expr, Aggregate):
        grouping = ""
        if expr.grouping or expr.without:
            grouping = f" {'without' if expr.without else 'by'} ({', '.join(expr.grouping)})"
        return f"{expr.op}{grouping} ({to_text(expr.expr)})"
    if isinstance(expr, Unary):
        return f"-({to_text(expr.expr)})"
    if isinstance(expr, Paren):
        return f"({to_text(expr.expr)})"
    modifiers = " bool" if expr.return_bool else ""
    if expr.matching is not None:
        kind = "on" if expr.matching.on else "ignoring"
        modifiers += f" {kind} ({', '.join(expr.matching.labels)})"
    return f"{_operand(expr.lhs)} {expr.op}{modifiers} {_operand(expr.rhs)}"


def _operand(expr: Expr) -> str:
    return to_text(expr) if isinstance(expr, Paren) else f"({to_text(expr)})"
