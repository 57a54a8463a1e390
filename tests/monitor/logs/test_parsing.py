"""Parsing cases (tests/monitor/logs/cases/parsing.json): each line, its declared format,
and the level, time and fields expected from it."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from shipway.monitor.logs.parsing import FORMATS, parse_line

CASES = json.loads((Path(__file__).parent / "cases" / "parsing.json").read_text())


def _expected_time(case: dict[str, Any]) -> float | None:
    if "local_time" in case:
        return datetime.fromisoformat(case["local_time"]).timestamp()
    value = case["time"]
    if value is None or isinstance(value, float):
        return value
    return datetime.fromisoformat(value).timestamp()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_parse_case(case: dict[str, Any]) -> None:
    assert case["format"] in FORMATS
    parsed = parse_line(case["line"], case["format"])
    assert parsed.message == case["line"]
    assert parsed.level == case["level"]
    expected = _expected_time(case)
    if expected is None:
        assert parsed.time is None
    else:
        assert parsed.time == pytest.approx(expected, abs=1e-3)
    for key, value in case["fields"].items():
        assert parsed.fields.get(key) == value, key
    if not case["fields"]:
        assert not parsed.fields or set(parsed.fields) <= {"logger"}


def test_every_format_keeps_a_line_it_cannot_parse() -> None:
    for fmt in FORMATS:
        parsed = parse_line("just some words", fmt)
        assert parsed.message == "just some words"
        assert parsed.level is None
