"""The ingestion fast paths (issue 9's 50,000 lines/s) give exactly what the plain way
gives: trigger pre-checks and skips in redaction, format dispatch, cached time
conversions, the line constructor and the fields JSON written to SQLite."""

from __future__ import annotations

import dataclasses
import json
import random
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shipway.monitor.logs import LogRepository
from shipway.monitor.logs.ingest import SourceLabels, ingest
from shipway.monitor.logs.parsing import (
    ParsedLine,
    parse_combined,
    parse_common,
    parse_json,
    parse_line,
    parse_logfmt,
    parse_text,
)
from shipway.monitor.logs.records import LogLine, new_line
from shipway.monitor.logs.redaction import _ANY_TRIGGER, _LABELS, RULES, Redactor, _apply
from shipway.monitor.logs.timestamps import CLF, clf_time, find_time
from shipway.store import open_store

CASES = Path(__file__).parent / "cases"
#: Pieces that make lines near every pattern's edges: triggers, their neighbours,
#: quotes, separators, dates, access-log and JSON shapes, non-ASCII letters.
PIECES = (
    "password",
    "PassWord",
    "pwd",
    "api_key",
    "Api-Key",
    "apikey",
    "accesskey",
    "private_key",
    "key",
    "monkey",
    "token",
    "TOKEN",
    "secret",
    "credentials",
    "bearer",
    "Basic",
    "://",
    "u:p@h",
    "=",
    ":",
    " ",
    "  ",
    '"',
    "'",
    ",",
    ";",
    "{",
    "}",
    "[",
    "]",
    "[REDACTED:x]",
    "abcdefghijklmnop1234",
    "AKIAABCDEFGHIJKLMNOP",
    "ghp_" + "a" * 36,
    "eyJabcdef.eyJabcdef.abcdef",
    "2026-12-03T18:00:01Z",
    "2026-12-03 18:00:01,123",
    "03/Dec/2026:18:00:01 +0000",
    "31/Feb/2026:18:00:01 +0000",
    '10.0.0.1 - - [03/Dec/2026:18:00:01 +0000] "GET /x HTTP/1.1" 200 12',
    ' "-" "agent/1.0"',
    '{"level": "warn", "ts": 1796320000}',
    "level=error",
    'msg="a b"',
    "ERROR",
    "INFO:",
    "é",
    "\u017f",  # long s: (?i) matches it as "s"
    "\u0130",  # dotted capital I: its lowercase is two characters
)


def _lines(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(PIECES, k=rng.randint(1, 9))) for _ in range(count)]


def test_the_trigger_pattern_finds_where_any_trigger_first_occurs() -> None:
    triggers = sorted({t for rule in RULES for t in rule.triggers})
    flat = re.compile("|".join(map(re.escape, triggers)))
    for line in _lines(3000, 1):
        lowered = line.lower()
        ours, plain = _ANY_TRIGGER.search(lowered), flat.search(lowered)
        assert (ours and ours.start()) == (plain and plain.start()), line


def test_the_credential_rule_skipping_to_its_trigger_redacts_the_same() -> None:
    skipping = [(rule, label) for rule, label in _LABELS if rule.starts_at_trigger]
    assert skipping
    for line in _lines(3000, 2):
        for rule, label in skipping:
            assert _apply(rule, label, line) == rule.pattern.sub(label, line), line


def test_redaction_equals_every_rule_run_in_order() -> None:
    redactor = Redactor({"DB": "s3cr3t value"})
    for line in [*_lines(3000, 3), "pw s3cr3t value", "pw s3cr3t%20value"]:
        expected = line.replace("s3cr3t value", "[REDACTED:DB]")
        expected = expected.replace("s3cr3t%20value", "[REDACTED:DB]")
        for rule, label in _LABELS:
            expected = rule.pattern.sub(label, expected)
        assert redactor.redact(line) == expected, line


def _auto_the_plain_way(line: str) -> ParsedLine:
    """Issue 9's auto format as documented: each parser in turn."""
    for parser in (parse_json, parse_combined, parse_common):
        parsed = parser(line)
        if parsed is not None:
            return parsed
    logfmt = parse_logfmt(line) if "=" in line else None
    if logfmt is not None and len(logfmt.fields) >= 2:
        return logfmt
    return parse_text(line)


def test_auto_dispatch_equals_trying_every_parser_in_order() -> None:
    cases = json.loads((CASES / "parsing.json").read_text())
    for line in [c["line"] for c in cases] + _lines(3000, 4):
        assert parse_line(line) == _auto_the_plain_way(line), line


def test_logfmt_quoted_values_without_escapes_are_read_as_json_would() -> None:
    parsed = parse_logfmt('a="x y" b="tab\there" c="esc \\"q\\" \\u00e9"')
    assert parsed is not None
    assert parsed.fields == {"a": "x y", "b": "tab\there", "c": 'esc "q" é'}


@pytest.mark.parametrize(
    "text",
    [
        "03/Dec/2026:18:00:01 +0000",
        "29/Feb/2024:23:59:59 -0130",
        "01/Jan/1970:00:00:00 +1400",
        "31/Dec/2026:12:34:56 +0545",
    ],
)
def test_common_log_times_equal_datetimes(text: str) -> None:
    match = CLF.fullmatch(text)
    assert match is not None
    expected = datetime.strptime(text, "%d/%b/%Y:%H:%M:%S %z").timestamp()
    assert clf_time(match) == expected
    assert clf_time(match) == expected  # again, from the cache


@pytest.mark.parametrize(
    "text",
    [
        "31/Feb/2026:18:00:01 +0000",
        "03/Dec/2026:24:00:00 +0000",
        "03/Dec/2026:18:60:00 +0000",
        "03/Dec/2026:18:00:60 +0000",
        "03/Abc/2026:18:00:00 +0000",
    ],
)
def test_impossible_common_log_times_are_none(text: str) -> None:
    match = CLF.fullmatch(text)
    assert match is not None
    assert clf_time(match) is None


def test_the_first_iso_time_wins_over_an_earlier_common_log_time() -> None:
    line = "[03/Dec/2026:18:00:01 +0000] at 2026-12-03T19:00:00Z"
    assert find_time(line) == datetime(2026, 12, 3, 19, tzinfo=UTC).timestamp()
    assert find_time("no time / here") is None


def test_new_line_equals_the_dataclass_constructor_and_stays_frozen() -> None:
    fields = {"a": 1}
    args = ("p", "e", "s", "src", "info", 12.5, "m", fields, "r")
    line = new_line(*args)
    assert line == LogLine(*args)
    assert line.id is None and line.fields is fields and line.severity == 20
    with pytest.raises(dataclasses.FrozenInstanceError):
        line.message = "changed"  # type: ignore[misc]


def test_stored_fields_are_what_json_dumps_writes(tmp_path: Path) -> None:
    when = datetime(2026, 12, 3, tzinfo=UTC)
    fields = [
        {"path": "/é", "nested": {"a": [1, 2.5, None, True]}, "when": when},
        {},
        {"nan": float("nan"), "big": 10**30},
    ]
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with open_store(url) as store:
        LogRepository(store.db).append(
            [LogLine("p", "e", None, "src", None, 1.0, f"m{i}", f) for i, f in enumerate(fields)]
        )
    conn = sqlite3.connect(tmp_path / "state.db")
    stored = [row[0] for row in conn.execute("SELECT fields FROM log_lines ORDER BY id")]
    conn.close()
    assert stored == [json.dumps(f, default=str) if f else "{}" for f in fields]


def test_ingest_drops_only_blank_lines() -> None:
    labels = SourceLabels("p", "e", "api", "src", "r1", "auto")
    lines = ["", " \t", "\u3000", "x", " y "]
    stored = ingest(lines, labels, Redactor(), 7.0)
    assert [line.message for line in stored] == ["x", " y "]
    assert stored[0] == LogLine("p", "e", "api", "src", None, 7.0, "x", {}, "r1")
