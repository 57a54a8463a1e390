"""Logging as JSON lines on stdout: one line per request, and every other log record.

Uvicorn's own records (start-up, shutdown) go through the same handler, so a log
collector reading stdout never meets a line that is not JSON.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from notes.observation import RequestRecord

ACCESS_LOGGER = "notes.access"
# Attributes of every LogRecord; anything else on a record came in through `extra=`.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object, with its `extra=` fields at the top level."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            # color_message is uvicorn's ANSI-coloured copy of the message.
            if key not in _STANDARD_ATTRIBUTES and key != "color_message":
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: int = logging.INFO) -> None:
    """Send all records to stdout as JSON lines (replacing any earlier handlers)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def log_request(record: RequestRecord) -> None:
    """Write the access-log line for one request (an `Observer`)."""
    logging.getLogger(ACCESS_LOGGER).info(
        "%s %s %d",
        record.method,
        record.path,
        record.status,
        extra={
            "method": record.method,
            "path": record.path,
            "route": record.route,
            "status": record.status,
            "duration_ms": round(record.duration_seconds * 1000, 3),
        },
    )
