"""Log aggregation: the agent follows each service's output and the files listed in
`monitoring.logs` across rotation (`follower.py`, `collector.py`), parses every line
(`parsing.py`), redacts secrets (`redaction.py`) and stores it with full-text search
(`repository.py`); `shipway logs` reads it back.

`count_lines` is what log-based alert rules evaluate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipway.monitor.logs.records import LogLine, ParsedLine
from shipway.monitor.logs.repository import LogQuery, LogRepository, Position

if TYPE_CHECKING:
    from shipway.store import Store

__all__ = [
    "LogLine",
    "LogQuery",
    "LogRepository",
    "ParsedLine",
    "Position",
    "count_lines",
    "log_repository",
]


def log_repository(store: Store) -> LogRepository:
    """The log tables of `store`."""
    return LogRepository(store.db)


def count_lines(
    store: Store,
    project: str,
    environment: str,
    *,
    pattern: str,
    since: float,
    until: float,
    service: str | None = None,
) -> int:
    """How many stored lines of the environment (or of one service) whose text matches the
    regular expression `pattern` have a time in [since, until) (Unix seconds). A bad
    pattern raises `InputError`."""
    return log_repository(store).count_matching(
        project, environment, pattern=pattern, since=since, until=until, service=service
    )
