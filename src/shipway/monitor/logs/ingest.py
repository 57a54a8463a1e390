"""From raw lines to stored `LogLine`s: redact first, then parse, then label.

Redaction runs on the raw text before parsing, so the fields parsed from a line can only
hold what survived it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shipway.monitor.logs.parsing import parse_line
from shipway.monitor.logs.records import LogLine
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
    out = []
    for text in raw:
        if not text.strip():
            continue
        parsed = parse_line(redactor.redact(text), labels.format)
        out.append(
            LogLine(
                project=labels.project,
                environment=labels.environment,
                service=labels.service,
                source=labels.source,
                level=parsed.level,
                time=read_at if parsed.time is None else parsed.time,
                message=parsed.message,
                fields=parsed.fields,
                release=labels.release,
            )
        )
    return out
