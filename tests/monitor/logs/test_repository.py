"""Stored lines: search by level, service, time, substring and full text; counting
matches for alert rules; retention; positions saved with the lines they cover."""

from __future__ import annotations

import pytest

from shipway.errors import InputError
from shipway.monitor.logs import LogLine, LogQuery, LogRepository, Position, count_lines
from shipway.store import Store

T0 = 1_800_000_000.0


def _line(message: str, *, t: float, level: str | None = "info", service: str = "api") -> LogLine:
    return LogLine(
        project="shop",
        environment="dev",
        service=service,
        source=f"/logs/{service}.log",
        level=level,
        time=t,
        message=message,
        fields={"n": int(t - T0)},
        release="shop-dev-r1",
    )


@pytest.fixture
def filled(logs: LogRepository) -> LogRepository:
    logs.append(
        [
            _line("GET /health 200 ok", t=T0),
            _line("payment declined for order 17", t=T0 + 1, level="warn"),
            _line("database connection refused", t=T0 + 2, level="error"),
            _line("worker crashed: out of memory", t=T0 + 3, level="fatal", service="worker"),
            _line("no level on this one", t=T0 + 4, level=None, service="worker"),
            _line("another database timeout", t=T0 + 5, level="error", service="worker"),
        ]
    )
    # another environment's lines are never seen
    logs.append([LogLine("shop", "prod", "api", "x", "error", T0 + 2, "database down", {})])
    return logs


def _messages(logs: LogRepository, **filters: object) -> list[str]:
    query = LogQuery("shop", "dev", **filters)  # type: ignore[arg-type]
    return [line.message for line in logs.search(query)]


def test_search_filters_by_level_service_time_and_text(filled: LogRepository) -> None:
    assert _messages(filled, min_severity=40) == [
        "database connection refused",
        "worker crashed: out of memory",
        "another database timeout",
    ]
    assert _messages(filled, service="worker", min_severity=30) == [
        "worker crashed: out of memory",
        "another database timeout",
    ]
    assert _messages(filled, since=T0 + 1, until=T0 + 3) == [
        "payment declined for order 17",
        "database connection refused",
    ]
    assert _messages(filled, grep="DATABASE") == [
        "database connection refused",
        "another database timeout",
    ]
    assert _messages(filled, search="database") == [
        "database connection refused",
        "another database timeout",
    ]
    assert _messages(filled, search="database", service="api") == ["database connection refused"]
    assert _messages(filled, search="memory") == ["worker crashed: out of memory"]
    assert _messages(filled, limit=2) == ["no level on this one", "another database timeout"]


def test_grep_treats_wildcards_literally(filled: LogRepository) -> None:
    assert _messages(filled, grep="%") == []
    assert _messages(filled, grep="o_e") == []  # LIKE would match "one"
    assert _messages(filled, grep="r 1") == ["payment declined for order 17"]


def test_follow_reads_after_an_id_in_order(filled: LogRepository) -> None:
    first = filled.search(LogQuery("shop", "dev", after_id=0, limit=2))
    assert [line.message for line in first] == [
        "GET /health 200 ok",
        "payment declined for order 17",
    ]
    assert first[0].fields == {"n": 0} and first[0].release == "shop-dev-r1"
    rest = filled.search(LogQuery("shop", "dev", after_id=first[-1].id, limit=100))
    assert len(rest) == 4 and rest[0].message == "database connection refused"


def test_count_lines_counts_regex_matches_in_a_half_open_window(
    store: Store, filled: LogRepository
) -> None:
    assert count_lines(store, "shop", "dev", pattern="database", since=T0, until=T0 + 10) == 2
    assert count_lines(store, "shop", "dev", pattern="database", since=T0, until=T0 + 5) == 1
    assert count_lines(store, "shop", "dev", pattern=r"^\w+ crashed", since=T0, until=T0 + 9) == 1
    assert (
        count_lines(
            store, "shop", "dev", pattern="database", since=T0, until=T0 + 10, service="api"
        )
        == 1
    )
    assert count_lines(store, "shop", "prod", pattern="database", since=T0, until=T0 + 10) == 1
    with pytest.raises(InputError, match="invalid log pattern"):
        count_lines(store, "shop", "dev", pattern="(", since=T0, until=T0 + 10)


def test_a_bad_full_text_query_is_an_input_error(store: Store, filled: LogRepository) -> None:
    if store.dialect == "sqlite":
        with pytest.raises(InputError, match="invalid search query"):
            _messages(filled, search='"unterminated')
    else:
        # websearch_to_tsquery reads any text as a query: no error, no match.
        assert _messages(filled, search='"unterminated') == []


def test_prune_deletes_old_lines_and_their_index_entries(filled: LogRepository) -> None:
    assert filled.prune(T0 + 3) == 4  # three dev lines and the prod one
    assert _messages(filled, search="database") == ["another database timeout"]
    assert _messages(filled) == [
        "worker crashed: out of memory",
        "no level on this one",
        "another database timeout",
    ]


def test_position_is_saved_with_the_lines(logs: LogRepository) -> None:
    assert logs.position("k") is None
    where = Position("k", "/logs/api.log", "1:2", 120, "ab" * 32, 64)
    logs.append([_line("x", t=T0)], where)
    assert logs.position("k") == where
    moved = Position("k", "/logs/api.log", "1:3", 7, "cd" * 32, 7)
    logs.append([], moved)
    assert logs.position("k") == moved


def test_follow_with_a_full_text_query(filled: LogRepository) -> None:
    first = filled.search(LogQuery("shop", "dev", search="database", after_id=0, limit=1))
    assert [line.message for line in first] == ["database connection refused"]
    rest = filled.search(LogQuery("shop", "dev", search="database", after_id=first[0].id))
    assert [line.message for line in rest] == ["another database timeout"]
