"""Tokens of the PromQL subset, with the column each starts at (for error messages)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shipway.errors import InputError

DURATION_UNITS_MS = {
    "ms": 1,
    "s": 1000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 604_800_000,
    "y": 31_536_000_000,
}
_DURATION = re.compile(r"(?:[0-9]+(?:ms|s|m|h|d|w|y))+")
_DURATION_PART = re.compile(r"([0-9]+)(ms|s|m|h|d|w|y)")
_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_OPERATORS = ("==", "!=", ">=", "<=", "=~", "!~", "+", "-", "*", "/", "%", "^", ">", "<", "=")
_PUNCT = "(){}[],"
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


@dataclass(frozen=True)
class Token:
    kind: str  # number, duration, string, ident, op, punct, eof
    text: str
    pos: int
    value: object = None


def syntax_error(pos: int, message: str) -> InputError:
    return InputError(f"invalid expression at column {pos + 1}: {message}")


def parse_duration(text: str, pos: int) -> int:
    """Milliseconds in a Prometheus duration such as `5m` or `1h30m`."""
    if not _DURATION.fullmatch(text):
        raise syntax_error(pos, f"bad duration {text!r} (use e.g. 30s, 5m, 1h30m)")
    total = sum(int(n) * DURATION_UNITS_MS[u] for n, u in _DURATION_PART.findall(text))
    if total <= 0:
        raise syntax_error(pos, f"duration {text!r} must be more than zero")
    return total


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if c.isspace():
            i += 1
        elif c == "#":  # a comment runs to the end of the line
            while i < n and source[i] != "\n":
                i += 1
        elif c in "\"'`":
            text, end = _string(source, i)
            tokens.append(Token("string", source[i:end], i, text))
            i = end
        elif c.isdigit() or (c == "." and i + 1 < n and source[i + 1].isdigit()):
            duration = _DURATION.match(source, i)
            number = _NUMBER.match(source, i)
            assert number is not None
            if duration and duration.end() >= number.end() and not source[i:].startswith("0x"):
                tokens.append(Token("duration", duration.group(), i))
                i = duration.end()
            else:
                text = number.group()
                value = float(int(text, 16)) if text[:2].lower() == "0x" else float(text)
                tokens.append(Token("number", text, i, value))
                i = number.end()
        elif c in _PUNCT:
            tokens.append(Token("punct", c, i))
            i += 1
        elif m := _IDENT.match(source, i):
            tokens.append(Token("ident", m.group(), i))
            i = m.end()
        else:
            for op in _OPERATORS:
                if source.startswith(op, i):
                    tokens.append(Token("op", op, i))
                    i += len(op)
                    break
            else:
                raise syntax_error(i, f"unexpected character {c!r}")
    tokens.append(Token("eof", "", n))
    return tokens


def _string(source: str, start: int) -> tuple[str, int]:
    quote = source[start]
    i = start + 1
    out: list[str] = []
    while i < len(source):
        c = source[i]
        if c == quote:
            return "".join(out), i + 1
        if c == "\n" and quote != "`":
            break
        if c == "\\" and quote != "`":
            i = _escape(source, i, quote, out)
            continue
        out.append(c)
        i += 1
    raise syntax_error(start, "unterminated string")


def _escape(source: str, i: int, quote: str, out: list[str]) -> int:
    if i + 1 >= len(source):
        raise syntax_error(i, "unterminated escape sequence")
    e = source[i + 1]
    if e in _ESCAPES:
        out.append(_ESCAPES[e])
        return i + 2
    if e in ("\\", quote):
        out.append(e)
        return i + 2
    widths = {"x": 2, "u": 4, "U": 8}
    if e in widths:
        digits = source[i + 2 : i + 2 + widths[e]]
        if len(digits) != widths[e] or not all(d in "0123456789abcdefABCDEF" for d in digits):
            raise syntax_error(i, f"bad escape sequence \\{e}{digits}")
        out.append(chr(int(digits, 16)))
        return i + 2 + widths[e]
    digits = source[i + 1 : i + 4]
    if len(digits) == 3 and all(d in "01234567" for d in digits):
        out.append(chr(int(digits, 8)))
        return i + 4
    raise syntax_error(i, f"unknown escape sequence \\{e}")
