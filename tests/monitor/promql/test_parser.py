"""The parser: precedence, modifiers, escapes, and one-line errors with the column."""

from __future__ import annotations

import pytest

from shipway.errors import InputError
from shipway.monitor.promql import parse
from shipway.monitor.promql.ast import (
    Aggregate,
    Binary,
    Call,
    Matcher,
    NumberLiteral,
    Unary,
    VectorMatching,
    VectorSelector,
)
from shipway.monitor.promql.printer import to_text, with_matchers


def test_precedence_and_associativity() -> None:
    tree = parse("a + b * c ^ d ^ e > bool 2 or f")
    assert isinstance(tree, Binary) and tree.op == "or"
    cmp = tree.lhs
    assert isinstance(cmp, Binary) and cmp.op == ">" and cmp.return_bool
    add = cmp.lhs
    assert isinstance(add, Binary) and add.op == "+"
    mul = add.rhs
    assert isinstance(mul, Binary) and mul.op == "*"
    power = mul.rhs
    assert isinstance(power, Binary) and power.op == "^"
    assert isinstance(power.rhs, Binary) and power.rhs.op == "^"  # right-associative


def test_unary_minus_binds_looser_than_power() -> None:
    tree = parse("-a ^ 2")
    assert isinstance(tree, Unary) and isinstance(tree.expr, Binary)
    assert parse("-1") == NumberLiteral(-1.0)


def test_selectors_ranges_offsets_and_escapes() -> None:
    tree = parse(
        r'rate(http_requests_total{status=~"5..", path!="/a\"b\n", x!~`\d+`}[1h30m] offset 5m)'
    )
    assert isinstance(tree, Call) and tree.func == "rate"
    (sel,) = tree.args
    assert sel == VectorSelector(
        "http_requests_total",
        (
            Matcher("status", "=~", "5.."),
            Matcher("path", "!=", '/a"b\n'),
            Matcher("x", "!~", r"\d+"),
        ),
        offset_ms=300_000,
        range_ms=5_400_000,
    )


def test_aggregations_take_grouping_before_or_after() -> None:
    first = parse("sum by (job, le) (x)")
    second = parse("sum(x) by (job, le)")
    assert first == second == Aggregate("sum", VectorSelector("x", ()), ("job", "le"), False)
    assert parse("avg without (instance) (x)") == Aggregate(
        "avg", VectorSelector("x", ()), ("instance",), True
    )


def test_vector_matching_modifiers() -> None:
    tree = parse("a / on (job) b")
    assert isinstance(tree, Binary) and tree.matching == VectorMatching(True, ("job",))
    tree = parse("a - ignoring (mode, cpu) b")
    assert isinstance(tree, Binary) and tree.matching == VectorMatching(False, ("mode", "cpu"))


def test_number_literals() -> None:
    assert parse("0x1F") == NumberLiteral(31.0)
    assert parse("1.5e3") == NumberLiteral(1500.0)
    tree = parse("Inf")
    assert isinstance(tree, NumberLiteral) and tree.value == float("inf")


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("sum(", "column 5: unexpected end of input"),
        ('x{a="b"', "column 8: unexpected end of input, expected '}'"),
        ("rate(x)", "column 1: rate() expects a range vector, got an instant vector"),
        ("rate(x[5m]) +", "column 14: unexpected end of input"),
        ("1 > 2", "column 3: comparisons between scalars must use the bool modifier"),
        ("x[5m]", "the result is a range vector"),
        ("x{a=b}", "column 5: expected a quoted label value"),
        ('x{a~"b"}', "column 4: unexpected character '~'"),
        ('x{a=~"("}', "column 6: bad regular expression"),
        ("foo(x)", "column 1: unknown or unsupported function foo()"),
        ("x[5x]", "column 3: expected a duration"),
        ("x + bool y", "column 5: unexpected 'bool', bool is only allowed after a comparison"),
        ('{a=""}', "column 1: a selector needs a metric name"),
        ("x y", "column 3: unexpected 'y', expected an operator or the end"),
        ('"unterminated', "column 1: unterminated string"),
        ("x group_left y", "unexpected 'group_left'"),
        ("topk(3, x)", "unknown or unsupported function topk()"),
        ("   ", "it is empty"),
    ],
)
def test_errors_are_one_line_with_the_column(expr: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse(expr)
    text = str(caught.value)
    assert message in text and "\n" not in text


def test_printer_round_trips_with_extra_matchers() -> None:
    source = 'sum by (status) (rate(http_requests_total{status=~"5.."}[1m])) / 2 > bool 0.1'
    tree = parse(source)
    text = to_text(tree)
    assert to_text(parse(text)) == text  # the printer only adds parentheses
    extra = to_text(with_matchers(tree, (Matcher("release", "=", "r3"),)))
    assert 'http_requests_total{status=~"5..",release="r3"}[60s]' in extra
    assert to_text(parse(extra)) == extra
