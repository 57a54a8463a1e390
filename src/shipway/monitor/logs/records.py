"""What a captured log line is, and the level vocabulary shared by parsing and search."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Canonical level -> severity (Python logging's numbers; 0 is "no level found").
SEVERITIES: dict[str, int] = {
    "trace": 5,
    "debug": 10,
    "info": 20,
    "warn": 30,
    "error": 40,
    "fatal": 50,
}

#: Spellings seen in the wild -> canonical level.
LEVEL_ALIASES: dict[str, str] = {
    "trace": "trace",
    "trc": "trace",
    "debug": "debug",
    "dbg": "debug",
    "info": "info",
    "inf": "info",
    "information": "info",
    "notice": "info",
    "warn": "warn",
    "warning": "warn",
    "wrn": "warn",
    "error": "error",
    "err": "error",
    "fatal": "fatal",
    "critical": "fatal",
    "crit": "fatal",
    "panic": "fatal",
    "emerg": "fatal",
    "alert": "fatal",
}


def canonical_level(word: str) -> str | None:
    """The canonical level for a level word (any case), or None."""
    return LEVEL_ALIASES.get(word.strip().lower())


def severity_of(level: str | None) -> int:
    return SEVERITIES.get(level or "", 0)


@dataclass(frozen=True)
class ParsedLine:
    """One line after parsing: its level, its own time (if it has one) and its fields."""

    message: str
    level: str | None = None
    time: float | None = None
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LogLine:
    """One stored line, with where it came from."""

    project: str
    environment: str
    service: str | None
    source: str
    level: str | None
    time: float
    message: str
    fields: dict[str, Any] = field(default_factory=dict)
    release: str | None = None
    id: int | None = None

    @property
    def severity(self) -> int:
        return severity_of(self.level)
