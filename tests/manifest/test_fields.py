"""Numbers with units, checked strings, and the `${...}` reference syntax."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from shipway.manifest import Bytes, Duration, Percent, Rate, Seconds, Size
from shipway.manifest.references import find_reference_problem

DURATIONS = TypeAdapter(Duration)
SIZES = TypeAdapter(Size)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("200ms", 0.2),
        ("2s", 2),
        ("1m", 60),
        ("1h", 3600),
        ("1d", 86400),
        ("1m30s", 90),
        ("1.5s", 1.5),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    value = DURATIONS.validate_python(text)
    assert value == pytest.approx(seconds)
    assert isinstance(value, Seconds) and value.text == text
    assert DURATIONS.dump_python(value, mode="json") == text
    assert pickle.loads(pickle.dumps(value)).text == text


@pytest.mark.parametrize("bad", ["2", "2 s", "s", "-1s", "1y", "", 2, 2.5, None, True, "1e3s"])
def test_bad_durations(bad: Any) -> None:
    with pytest.raises(ValidationError):
        DURATIONS.validate_python(bad)


@pytest.mark.parametrize(
    ("text", "size"),
    [("256Mi", 256 * 2**20), ("1Gi", 2**30), ("500M", 500_000_000), ("1.5Ki", 1536), ("2k", 2000)],
)
def test_sizes(text: str, size: int) -> None:
    value = SIZES.validate_python(text)
    assert value == size and isinstance(value, Bytes) and value.text == text
    assert SIZES.dump_python(value, mode="json") == text


@pytest.mark.parametrize("bad", ["256", "256MB", "1 Gi", "1gi", 1024, "Mi"])
def test_bad_sizes(bad: Any) -> None:
    with pytest.raises(ValidationError):
        SIZES.validate_python(bad)


def test_rates_and_percentages() -> None:
    assert TypeAdapter(Rate).validate_python("60/m") == pytest.approx(1.0)
    assert TypeAdapter(Rate).validate_python("200/s") == 200
    assert TypeAdapter(Percent).validate_python("0.5%") == pytest.approx(0.005)
    with pytest.raises(ValidationError):
        TypeAdapter(Percent).validate_python(0.5)


def test_unit_schemas_are_strings_with_patterns() -> None:
    schema = DURATIONS.json_schema()
    assert schema["type"] == "string" and "pattern" in schema


@pytest.mark.parametrize(
    "text",
    [
        "plain text",
        "${port}",
        "${secret:pg_admin_url}",
        "${resources.db.url}",
        "a ${x} b ${y_2}",
        "$${not a reference",
        "cost: $5 {braces}",
        "$.status",
        "${config.log-level}",
    ],
)
def test_well_formed_references(text: str) -> None:
    assert find_reference_problem(text) is None


@pytest.mark.parametrize(
    ("text", "offset", "reason"),
    [
        ("${port", 0, "unterminated"),
        ("ok ${a} then ${b", 13, "unterminated"),
        ("${}", 0, "empty reference"),
        ("${a b}", 0, "invalid reference"),
        ("${1abc}", 0, "invalid reference"),
        ("x${${y}}", 1, "invalid reference"),
    ],
)
def test_malformed_references(text: str, offset: int, reason: str) -> None:
    problem = find_reference_problem(text)
    assert problem is not None
    assert problem.offset == offset and reason in problem.reason
