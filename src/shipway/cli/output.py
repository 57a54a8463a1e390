"""Printing: Rich for people, JSON for programs, one line on stderr for errors."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

from rich.console import Console

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=_default, sort_keys=False) + "\n")
    sys.stdout.flush()


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def one_line(message: str) -> str:
    return " ".join(str(message).split())


def clock(value: datetime | None) -> str:
    return value.astimezone().strftime("%H:%M:%S") if value else "-"


def duration(start: datetime | None, end: datetime | None) -> str:
    if start is None:
        return "-"
    if end is None:
        return "…"
    seconds = (end - start).total_seconds()
    return f"{seconds:.1f}s" if seconds < 120 else f"{seconds / 60:.1f}m"


STATUS_STYLE = {
    "succeeded": "green",
    "running": "cyan",
    "queued": "dim",
    "awaiting_approval": "yellow",
    "failed": "red",
    "rolled_back": "magenta",
    "cancelled": "yellow",
    "skipped": "dim",
    "compensated": "magenta",
    "compensation_failed": "red",
    "pending": "dim",
    "active": "green",
    "standby": "cyan",
    "staged": "dim",
    "pruned": "dim",
    "backoff": "yellow",
    "crash_loop": "red",
    "not running": "red",
}


def styled(status: str) -> str:
    return f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]"
