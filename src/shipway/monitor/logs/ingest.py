"""From raw lines to stored `LogLine`s: redact first, then parse, then label.

Redaction runs on the raw text before parsing, so the fields parsed from a line can only
hold what survived it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shipway.monitor.logs.parsing import parse_parts
from shipway.monitor.logs.records import LogLine, new_line
from shipway.monitor.logs.redaction import Redactor


@dataclass(frozen=True)
class SourceLabels:
    """Where a followed file's lines belong, and how they are written."""

    project: str
    environment: str
    service: str | None
    source: str
    release: str | None = None
    format: str = "auto"


def ingest(
    raw: Iterable[str], labels: SourceLabels, redactor: Redactor, read_at: float
) -> list[LogLine]:
    """The lines worth storing (blank ones are dropped), redacted and parsed; a line
    without its own time gets `read_at`."""
    project, environment, service = labels.project, labels.environment, labels.service
    source, release, fmt = labels.source, labels.release, labels.format
    redact = redactor.redact
    out = []
    for text in raw:
        if not text or text.isspace():  # what `not text.strip()` says, without a copy
            continue
        message = redact(text)
        level, when, fields = parse_parts(message, fmt)
        if when is None:
            when = read_at
        out.append(
            new_line(project, environment, service, source, level, when, message, fields, release)
        )
    return out
