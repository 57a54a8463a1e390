"""The expression tree of the PromQL subset (frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Matcher:
    """`name op "value"` with op one of = != =~ !~ (regexes are anchored)."""

    name: str
    op: str
    value: str


@dataclass(frozen=True)
class NumberLiteral:
    value: float


@dataclass(frozen=True)
class StringLiteral:
    value: str


@dataclass(frozen=True)
class VectorSelector:
    """`name{matchers}`; `range_ms` set makes it a range vector (`[5m]`)."""

    name: str | None
    matchers: tuple[Matcher, ...]
    offset_ms: int = 0
    range_ms: int | None = None


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Aggregate:
    op: str
    expr: Expr
    grouping: tuple[str, ...] = ()
    without: bool = False
    param: Expr | None = None


@dataclass(frozen=True)
class VectorMatching:
    on: bool = False
    labels: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Binary:
    op: str
    lhs: Expr
    rhs: Expr
    return_bool: bool = False
    matching: VectorMatching | None = None


@dataclass(frozen=True)
class Unary:
    op: str
    expr: Expr


@dataclass(frozen=True)
class Paren:
    expr: Expr


Expr = NumberLiteral | StringLiteral | VectorSelector | Call | Aggregate | Binary | Unary | Paren

COMPARISON_OPS = frozenset({"==", "!=", ">", "<", ">=", "<="})
ARITHMETIC_OPS = frozenset({"+", "-", "*", "/", "%", "^"})
SET_OPS = frozenset({"and", "or", "unless"})
