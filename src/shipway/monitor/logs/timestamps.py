"""Times written in log lines: ISO 8601 / RFC 3339 (with or without a zone, `T` or a
space, `,` or `.` before the fraction), the common log format's `03/Dec/2026:18:00:00
+0000`, and Unix epochs in seconds or milliseconds (JSON and logfmt values).

A time without a zone is read in the agent's local time zone, as Python's logging writes
`asctime`.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime

ISO = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d{1,9}))?\s?(Z|z|[+-]\d{2}:?\d{2}|UTC)?"
)
CLF = re.compile(r"(\d{2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-]\d{4})")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
_EPOCH_TEXT = re.compile(r"\d{9,13}(?:\.\d+)?")


def iso_time(match: re.Match[str]) -> float | None:
    """Unix seconds of an `ISO` match, or None when it is not a real date."""
    return _iso_seconds(*match.groups())


# NOTE: the time conversions are cached by their text: lines written in the same second
# (hundreds, at the rates the agent must keep up with) share it.
@functools.lru_cache(maxsize=4096)
def _iso_seconds(day: str, clock: str, fraction: str | None, zone: str | None) -> float | None:
    text = f"{day}T{clock}"
    if fraction:
        text += "." + fraction[:6].ljust(6, "0")
    if zone:
        text += "+00:00" if zone in ("Z", "z", "UTC") else zone
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def clf_time(match: re.Match[str]) -> float | None:
    """Unix seconds of a `CLF` match, or None when it is not a real date."""
    return _clf_seconds(*match.groups())


@functools.lru_cache(maxsize=4096)
def _clf_seconds(
    day: str, month: str, year: str, hour: str, minute: str, second: str, zone: str
) -> float | None:
    number = _MONTHS.get(month)
    if number is None:
        return None
    # NOTE: arithmetic instead of strptime, which cost more than the rest of parsing an
    # access-log line (measured).
    offset = (int(zone[1:3]) * 3600 + int(zone[3:5]) * 60) * (-1 if zone[0] == "-" else 1)
    midnight = _utc_midnight(int(year), number, int(day))
    hours, minutes, seconds = int(hour), int(minute), int(second)
    # NOTE: the ranges `datetime` accepts (no leap second 60), so the same texts are
    # rejected as when the whole time went through it.
    if midnight is None or hours > 23 or minutes > 59 or seconds > 59:
        return None
    return midnight + (hours * 3600 + minutes * 60 + seconds) - offset


@functools.lru_cache(maxsize=1024)
def _utc_midnight(year: int, month: int, day: int) -> float | None:
    """Unix seconds of a day's start in UTC (lines of one day share it: cached), or None
    when it is not a real date."""
    try:
        return datetime(year, month, day, tzinfo=UTC).timestamp()
    except ValueError:
        return None


def find_time(text: str) -> float | None:
    """The first ISO 8601 or common-log time in `text`."""
    match = ISO.search(text)
    if match:
        return iso_time(match)
    if "/" not in text:  # every CLF time has one; most lines without a time stop here
        return None
    match = CLF.search(text)
    return clf_time(match) if match else None


def value_time(value: object) -> float | None:
    """A time given as a field value: text in either format, or an epoch number (a value
    above 1e11 is taken as milliseconds)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
        return seconds / 1000.0 if seconds > 1e11 else seconds
    if isinstance(value, str):
        stripped = value.strip()
        if _EPOCH_TEXT.fullmatch(stripped):
            return value_time(float(stripped))
        return find_time(stripped)
    return None
