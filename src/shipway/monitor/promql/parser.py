"""A recursive-descent parser for the PromQL subset, with Prometheus's operator precedence
(`^` right-associative and tighter than unary minus, then `* / %`, `+ -`, comparisons,
`and unless`, `or`) and type checks (a range vector only where a function takes one).

Every error is an `InputError` whose one line names the column: `invalid expression at
column 12: unexpected "}"`.
"""

from __future__ import annotations

import re

from shipway.errors import InputError
from shipway.monitor.promql.ast import (
    COMPARISON_OPS,
    SET_OPS,
    Aggregate,
    Binary,
    Call,
    Expr,
    Matcher,
    NumberLiteral,
    Paren,
    StringLiteral,
    Unary,
    VectorMatching,
    VectorSelector,
)
from shipway.monitor.promql.lexer import Token, parse_duration, syntax_error, tokenize

AGGREGATIONS = frozenset({"sum", "avg", "min", "max", "count"})
#: Functions: argument types ("vector", "matrix", "scalar") and the result type.
FUNCTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "rate": (("matrix",), "vector"),
    "irate": (("matrix",), "vector"),
    "increase": (("matrix",), "vector"),
    "delta": (("matrix",), "vector"),
    "histogram_quantile": (("scalar", "vector"), "vector"),
    "abs": (("vector",), "vector"),
    "time": ((), "scalar"),
    "vector": (("scalar",), "vector"),
    "scalar": (("vector",), "scalar"),
}
_PRECEDENCE = [
    ("or",),
    ("and", "unless"),
    ("==", "!=", ">", "<", ">=", "<="),
    ("+", "-"),
    ("*", "/", "%"),
]
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_KEYWORDS = {"by", "without", "on", "ignoring", "offset", "bool", "and", "or", "unless"}


def parse(source: str) -> Expr:
    """The tree of `source`, type-checked. Raises InputError with the column."""
    if not source.strip():
        raise InputError("invalid expression: it is empty")
    parser = _Parser(source)
    expr = parser.expression(0)
    parser.expect_end()
    kind = value_type(expr, 0)
    if kind in ("matrix", "string"):
        raise InputError(
            f"invalid expression: the result is {_TYPE_NAMES[kind]}; "
            "queries here return scalars or instant vectors (wrap a range in rate() etc.)"
        )
    return expr


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = tokenize(source)
        self.i = 0
        self.positions: dict[int, int] = {}

    # --- token helpers --------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def at(self, *texts: str) -> bool:
        tok = self.tok
        if tok.kind == "ident":
            return tok.text.lower() in texts
        return tok.kind in ("op", "punct") and tok.text in texts

    def expect(self, text: str) -> Token:
        if not self.at(text):
            raise self.unexpected(f"expected {text!r}")
        return self.advance()

    def unexpected(self, hint: str = "") -> InputError:
        tok = self.tok
        found = "end of input" if tok.kind == "eof" else repr(tok.text)
        return syntax_error(tok.pos, f"unexpected {found}" + (f", {hint}" if hint else ""))

    def expect_end(self) -> None:
        if self.tok.kind != "eof":
            raise self.unexpected("expected an operator or the end")

    # --- expressions ---------------------------------------------------------------------
    def expression(self, level: int) -> Expr:
        if level == len(_PRECEDENCE):
            return self.unary()
        lhs = self.expression(level + 1)
        while self.at(*_PRECEDENCE[level]):
            op_tok = self.advance()
            op = op_tok.text.lower()
            return_bool = False
            if self.at("bool"):
                if op not in COMPARISON_OPS:
                    raise self.unexpected("bool is only allowed after a comparison")
                self.advance()
                return_bool = True
            matching = self.matching()
            if self.at("group_left", "group_right"):
                raise self.unexpected("group_left/group_right are not supported")
            rhs = self.expression(level + 1)
            lhs = self.binary(op, op_tok, lhs, rhs, return_bool, matching)
        return lhs

    def matching(self) -> VectorMatching | None:
        if not self.at("on", "ignoring"):
            return None
        on = self.advance().text.lower() == "on"
        return VectorMatching(on=on, labels=self.label_list())

    def binary(
        self,
        op: str,
        tok: Token,
        lhs: Expr,
        rhs: Expr,
        return_bool: bool,
        matching: VectorMatching | None,
    ) -> Expr:
        node = Binary(op, lhs, rhs, return_bool, matching)
        self.positions[id(node)] = tok.pos
        lt, rt = value_type(lhs, tok.pos), value_type(rhs, tok.pos)
        if "string" in (lt, rt) or "matrix" in (lt, rt):
            raise syntax_error(tok.pos, f"operator {op!r} needs instant vectors or scalars")
        if op in SET_OPS and (lt != "vector" or rt != "vector"):
            raise syntax_error(tok.pos, f"set operator {op!r} needs vectors on both sides")
        if op in COMPARISON_OPS and lt == rt == "scalar" and not return_bool:
            raise syntax_error(tok.pos, "comparisons between scalars must use the bool modifier")
        if matching is not None and (lt != "vector" or rt != "vector"):
            raise syntax_error(tok.pos, "on/ignoring need vectors on both sides")
        return node

    def unary(self) -> Expr:
        if self.at("-", "+"):
            tok = self.advance()
            inner = self.unary()
            kind = value_type(inner, tok.pos)
            if kind not in ("scalar", "vector"):
                raise syntax_error(tok.pos, "unary operators need a scalar or instant vector")
            if isinstance(inner, NumberLiteral):
                return NumberLiteral(-inner.value if tok.text == "-" else inner.value)
            return inner if tok.text == "+" else Unary("-", inner)
        return self.power()

    def power(self) -> Expr:
        lhs = self.postfix()
        if self.at("^"):
            tok = self.advance()
            matching = self.matching()
            rhs = self.unary()  # right-associative: 2 ^ 3 ^ 2 = 2 ^ 9
            return self.binary("^", tok, lhs, rhs, False, matching)
        return lhs

    def postfix(self) -> Expr:
        start = self.tok.pos
        expr = self.primary()
        if self.at("["):
            if not isinstance(expr, VectorSelector) or expr.range_ms is not None:
                raise self.unexpected("a range [..] only follows a metric selector")
            self.advance()
            tok = self.advance()
            if tok.kind != "duration":
                raise syntax_error(tok.pos, "expected a duration such as 5m in [..]")
            if self.at(":"):
                raise self.unexpected("subqueries are not supported")
            self.expect("]")
            expr = VectorSelector(
                expr.name, expr.matchers, expr.offset_ms, parse_duration(tok.text, tok.pos)
            )
        if self.at("offset"):
            if not isinstance(expr, VectorSelector):
                raise syntax_error(start, "offset only follows a metric selector")
            self.advance()
            negative = self.at("-")
            if negative:
                self.advance()
            tok = self.advance()
            if tok.kind != "duration":
                raise syntax_error(tok.pos, "expected a duration after offset")
            offset = parse_duration(tok.text, tok.pos)
            expr = VectorSelector(
                expr.name, expr.matchers, -offset if negative else offset, expr.range_ms
            )
        return expr

    def primary(self) -> Expr:
        tok = self.tok
        if tok.kind == "number":
            self.advance()
            assert isinstance(tok.value, float)
            return NumberLiteral(tok.value)
        if tok.kind == "string":
            self.advance()
            assert isinstance(tok.value, str)
            return StringLiteral(tok.value)
        if self.at("("):
            self.advance()
            inner = self.expression(0)
            self.expect(")")
            return Paren(inner)
        if self.at("{"):
            return self.selector(None, tok)
        if tok.kind == "ident":
            name = tok.text
            lowered = name.lower()
            if lowered in ("inf", "nan") and not self._next_is("{"):
                self.advance()
                return NumberLiteral(float(lowered))
            if lowered in AGGREGATIONS and self._next_is("(", "by", "without"):
                return self.aggregate()
            if self._next_is("("):
                return self.call()
            if lowered in _KEYWORDS:
                raise self.unexpected()
            return self.selector(name, tok)
        raise self.unexpected("expected a number, selector, function or '('")

    def _next_is(self, *texts: str) -> bool:
        nxt = self.tokens[self.i + 1]
        return (nxt.kind in ("punct", "op") and nxt.text in texts) or (
            nxt.kind == "ident" and nxt.text.lower() in texts
        )

    def selector(self, name: str | None, tok: Token) -> Expr:
        if name is not None:
            self.advance()
        matchers: list[Matcher] = []
        if self.at("{"):
            self.advance()
            while not self.at("}"):
                matchers.append(self.matcher())
                if not self.at(","):
                    break
                self.advance()
            self.expect("}")
        for m in matchers:
            if m.name == "__name__" and name is not None:
                raise syntax_error(tok.pos, "metric name given twice")
        if name is None and not any(_matches_nonempty(m) for m in matchers):
            raise syntax_error(
                tok.pos, "a selector needs a metric name or a matcher that is not empty"
            )
        return VectorSelector(name, tuple(matchers))

    def matcher(self) -> Matcher:
        tok = self.advance()
        if tok.kind != "ident" or not _LABEL.fullmatch(tok.text):
            raise syntax_error(tok.pos, f"expected a label name, found {tok.text!r}")
        op_tok = self.advance()
        if op_tok.kind != "op" or op_tok.text not in ("=", "!=", "=~", "!~"):
            raise syntax_error(op_tok.pos, "expected one of = != =~ !~ after a label name")
        value = self.advance()
        if value.kind != "string":
            raise syntax_error(value.pos, "expected a quoted label value")
        assert isinstance(value.value, str)
        if op_tok.text in ("=~", "!~"):
            try:
                re.compile(value.value)
            except re.error as e:
                raise syntax_error(value.pos, f"bad regular expression: {e}") from e
        return Matcher(tok.text, op_tok.text, value.value)

    def label_list(self) -> tuple[str, ...]:
        self.expect("(")
        labels: list[str] = []
        while not self.at(")"):
            tok = self.advance()
            if tok.kind != "ident" or not _LABEL.fullmatch(tok.text):
                raise syntax_error(tok.pos, f"expected a label name, found {tok.text!r}")
            labels.append(tok.text)
            if not self.at(","):
                break
            self.advance()
        self.expect(")")
        return tuple(labels)

    def aggregate(self) -> Expr:
        op_tok = self.advance()
        op = op_tok.text.lower()
        grouping: tuple[str, ...] = ()
        without = False
        if self.at("by", "without"):
            without = self.advance().text.lower() == "without"
            grouping = self.label_list()
        self.expect("(")
        expr = self.expression(0)
        self.expect(")")
        if self.at("by", "without"):
            if grouping or without:
                raise self.unexpected("grouping given twice")
            without = self.advance().text.lower() == "without"
            grouping = self.label_list()
        if value_type(expr, op_tok.pos) != "vector":
            raise syntax_error(op_tok.pos, f"{op}() needs an instant vector")
        return Aggregate(op, expr, grouping, without)

    def call(self) -> Expr:
        tok = self.advance()
        name = tok.text
        if name not in FUNCTIONS:
            raise syntax_error(tok.pos, f"unknown or unsupported function {name}()")
        self.expect("(")
        args: list[Expr] = []
        while not self.at(")"):
            args.append(self.expression(0))
            if not self.at(","):
                break
            self.advance()
        self.expect(")")
        wanted, _ = FUNCTIONS[name]
        if len(args) != len(wanted):
            raise syntax_error(
                tok.pos, f"{name}() takes {len(wanted)} argument(s), got {len(args)}"
            )
        for arg, kind in zip(args, wanted, strict=True):
            found = value_type(arg, tok.pos)
            if found != kind:
                raise syntax_error(
                    tok.pos, f"{name}() expects {_TYPE_NAMES[kind]}, got {_TYPE_NAMES[found]}"
                )
        return Call(name, tuple(args))


_TYPE_NAMES = {
    "scalar": "a scalar",
    "vector": "an instant vector",
    "matrix": "a range vector",
    "string": "a string",
}


def _matches_nonempty(m: Matcher) -> bool:
    if m.op == "=":
        return m.value != ""
    if m.op == "=~":
        return re.fullmatch(m.value, "") is None
    return False


def value_type(expr: Expr, pos: int) -> str:
    """scalar, vector, matrix or string."""
    if isinstance(expr, NumberLiteral):
        return "scalar"
    if isinstance(expr, StringLiteral):
        return "string"
    if isinstance(expr, VectorSelector):
        return "vector" if expr.range_ms is None else "matrix"
    if isinstance(expr, Call):
        return FUNCTIONS[expr.func][1]
    if isinstance(expr, Aggregate):
        return "vector"
    if isinstance(expr, Paren):
        inner = value_type(expr.expr, pos)
        if inner == "matrix":
            raise syntax_error(pos, "a range vector cannot be put in parentheses")
        return inner
    if isinstance(expr, Unary):
        return value_type(expr.expr, pos)
    lt, rt = value_type(expr.lhs, pos), value_type(expr.rhs, pos)
    return "scalar" if lt == rt == "scalar" else "vector"
