"""A parser for the Prometheus text exposition format (0.0.4) and OpenMetrics 1.0: every
sample line becomes (name, labels, value, timestamp or None). Counters, gauges, histograms
(`_bucket`/`_sum`/`_count`), summaries, `_created` lines (kept as their own series, as
Prometheus 2.x stores them), NaN and +/-Inf, escaped label values, timestamps (milliseconds
in the text format, seconds in OpenMetrics) and exemplars (skipped) are handled.

A malformed line raises `ExpositionError` naming its line number: Prometheus rejects the
whole scrape then, and so do we.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from shipway.errors import ShipwayError

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\\n]|\\.)*)"\s*(,?)')
_ESCAPES = re.compile(r"\\(.)")
_SPECIAL = {
    "nan": math.nan,
    "+inf": math.inf,
    "inf": math.inf,
    "-inf": -math.inf,
}


class ExpositionError(ShipwayError):
    """A scrape body that is not valid Prometheus text or OpenMetrics."""


@dataclass(frozen=True)
class ParsedSample:
    name: str
    labels: dict[str, str]
    value: float
    #: Unix seconds given on the line, or None (the scrape time applies).
    timestamp: float | None


def parse_exposition(text: str, *, openmetrics: bool = False) -> list[ParsedSample]:
    """Every sample of a scrape body. `openmetrics` reads timestamps as seconds."""
    samples: list[ParsedSample] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line or line.isspace():
            continue
        if line[0] == "#":
            if openmetrics and line.rstrip() == "# EOF":
                break
            continue
        try:
            samples.append(_sample(line.strip() if not openmetrics else line, openmetrics))
        except (ValueError, IndexError) as e:
            raise ExpositionError(f"line {number}: {e}: {line[:120]!r}") from e
    return samples


def _sample(line: str, openmetrics: bool) -> ParsedSample:
    m = _NAME.match(line)
    if m is None:
        raise ValueError("expected a metric name")
    name = m.group()
    pos = m.end()
    labels: dict[str, str] = {}
    if pos < len(line) and line[pos] == "{":
        pos = _labels(line, pos + 1, labels)
    rest = line[pos:]
    if not rest or not rest[0].isspace():
        raise ValueError("expected a space before the value")
    if " #" in rest:  # an OpenMetrics exemplar follows the value and timestamp
        rest = rest[: rest.index(" #")]
    fields = rest.split()
    if not fields or len(fields) > 2:
        raise ValueError("expected a value and an optional timestamp")
    value = _number(fields[0])
    timestamp = None
    if len(fields) == 2:
        raw = _number(fields[1])
        timestamp = raw if openmetrics else raw / 1000.0
    return ParsedSample(name, labels, value, timestamp)


def _labels(line: str, pos: int, labels: dict[str, str]) -> int:
    while True:
        while pos < len(line) and line[pos] in " \t":
            pos += 1
        if pos < len(line) and line[pos] == "}":
            return pos + 1
        m = _LABEL.match(line, pos)
        if m is None:
            raise ValueError("malformed label set")
        key, raw, comma = m.groups()
        if key in labels:
            raise ValueError(f"label {key!r} given twice")
        labels[key] = _unescape(raw) if "\\" in raw else raw
        pos = m.end()
        if not comma:
            while pos < len(line) and line[pos] in " \t":
                pos += 1
            if pos >= len(line) or line[pos] != "}":
                raise ValueError("expected ',' or '}' in the label set")
            return pos + 1


def _unescape(raw: str) -> str:
    def replace(m: re.Match[str]) -> str:
        c = m.group(1)
        return "\n" if c == "n" else c

    return _ESCAPES.sub(replace, raw)


def _number(text: str) -> float:
    special = _SPECIAL.get(text.lower())
    if special is not None:
        return special
    return float(text)
