"""Turning one raw line into a `ParsedLine`: level, the line's own time, and fields.

Formats (`LogSource.format`): `json` (one object per line), `logfmt` (key=value pairs),
`common` and `combined` (access logs), `text` (level and time found in plain text:
Python logging's formats, uvicorn, gunicorn, bracketed or upper-case level words) and
`auto`, which tries them in that order for every line. A line that does not parse in its
declared format is kept as text, never dropped. The message stored is always the line as
written (after redaction), so what `--grep` matches is what the service printed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from shipway.monitor.logs.records import ParsedLine, canonical_level
from shipway.monitor.logs.timestamps import CLF, clf_time, find_time, value_time

FORMATS = ("auto", "text", "json", "logfmt", "common", "combined")

_LEVEL_KEYS = ("level", "lvl", "severity", "levelname", "log.level", "loglevel", "@l")
_TIME_KEYS = ("time", "timestamp", "ts", "@timestamp", "t", "@t", "datetime", "asctime")

# -- access logs ---------------------------------------------------------------------

_COMMON = (
    r"(?P<remote_addr>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<time>[^\]]+)\] "
    r'"(?P<request>[^"\\]*(?:\\.[^"\\]*)*)" (?P<status>\d{3}) (?P<bytes>\d+|-)'
)
_COMMON_RE = re.compile(_COMMON + r"\s*$")
_COMBINED_RE = re.compile(
    _COMMON
    + r' "(?P<referer>[^"\\]*(?:\\.[^"\\]*)*)" "(?P<agent>[^"\\]*(?:\\.[^"\\]*)*)"(?P<rest>.*)$'
)


def _access(line: str, pattern: re.Pattern[str]) -> ParsedLine | None:
    if '] "' not in line:  # cheap: most lines that are not access lines stop here
        return None
    match = pattern.match(line)
    if match is None:
        return None
    parts = match.groupdict()
    method, path, protocol = _request(parts["request"])
    status = int(parts["status"])
    fields: dict[str, Any] = {
        "remote_addr": parts["remote_addr"],
        "user": None if parts["user"] == "-" else parts["user"],
        "method": method,
        "path": path,
        "protocol": protocol,
        "status": status,
        "bytes": None if parts["bytes"] == "-" else int(parts["bytes"]),
    }
    if "referer" in parts:
        fields["referer"] = None if parts["referer"] == "-" else parts["referer"]
        fields["agent"] = None if parts["agent"] == "-" else parts["agent"]
    clf = CLF.fullmatch(parts["time"])
    level = "error" if status >= 500 else "warn" if status >= 400 else "info"
    return ParsedLine(line, level, clf_time(clf) if clf else None, fields)


def _request(request: str) -> tuple[str | None, str | None, str | None]:
    pieces = request.split(" ")
    if len(pieces) == 3:
        return pieces[0], pieces[1], pieces[2]
    if len(pieces) == 2:
        return pieces[0], pieces[1], None
    return None, request or None, None


def parse_common(line: str) -> ParsedLine | None:
    return _access(line, _COMMON_RE)


def parse_combined(line: str) -> ParsedLine | None:
    return _access(line, _COMBINED_RE)


# -- structured ----------------------------------------------------------------------


def parse_json(line: str) -> ParsedLine | None:
    stripped = line.strip()
    if not stripped.startswith("{"):
        return None
    try:
        data = json.loads(stripped)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    return _structured(line, data)


_LOGFMT_PAIR = re.compile(r'([^\s=]+)=("[^"\\]*(?:\\.[^"\\]*)*"|[^\s"]*)(?=\s|$)')
_LOGFMT_LINE = re.compile(r'\s*(?:[^\s=]+=(?:"[^"\\]*(?:\\.[^"\\]*)*"|[^\s"]*)(?:\s+|$))+')


def parse_logfmt(line: str) -> ParsedLine | None:
    """key=value pairs (values may be quoted); every token of the line must be a pair."""
    if _LOGFMT_LINE.fullmatch(line) is None:
        return None
    data: dict[str, Any] = {}
    for key, raw in _LOGFMT_PAIR.findall(line):
        if raw.startswith('"'):
            try:
                raw = json.loads(raw)
            except ValueError:
                raw = raw[1:-1]
        data[key] = raw
    return _structured(line, data) if data else None


def _structured(line: str, data: dict[str, Any]) -> ParsedLine:
    level = None
    for key in _LEVEL_KEYS:
        value = data.get(key) if key in data else _nested(data, key)
        if value is None:
            continue
        if isinstance(value, str) and (level := canonical_level(value)):
            break
        if isinstance(value, int) and not isinstance(value, bool):
            level = _numeric_level(value)
            break
    when = None
    for key in _TIME_KEYS:
        value = data.get(key) if key in data else _nested(data, key)
        if value is not None and (when := value_time(value)) is not None:
            break
    return ParsedLine(line, level, when, data)


def _nested(data: dict[str, Any], key: str) -> Any:
    """`log.level` -> data["log"]["level"] (ECS); None for a plain key."""
    if "." not in key:
        return None
    head, _, rest = key.partition(".")
    inner = data.get(head)
    return inner.get(rest) if isinstance(inner, dict) else None


def _numeric_level(value: int) -> str | None:
    # NOTE: numeric levels in JSON lines come from pino and bunyan (10 trace, 20 debug,
    # 30 info, 40 warn, 50 error, 60 fatal); Python's JSON formatters write the name.
    for floor, name in ((60, "fatal"), (50, "error"), (40, "warn"), (30, "info"), (20, "debug")):
        if value >= floor:
            return name
    return "trace" if value >= 10 else None


# -- plain text ----------------------------------------------------------------------

_WORDS = r"TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|FATAL|CRITICAL|CRIT|PANIC|EMERG"
#: uvicorn "INFO:     msg", Python's default "ERROR:root:msg", "E, I" prefixes aside.
_PREFIX = re.compile(rf"^(?P<level>{_WORDS}):(?:(?P<logger>[\w.]+):|\s+)")
#: "2026-12-03 18:00:00,123 - app.db - ERROR - msg" and "... ERROR app.db: msg".
_PY_ASCTIME = re.compile(rf"^\S+ \S+ (?:- )?(?:(?P<logger>[\w.]+) - )?(?P<level>{_WORDS})\b(?: -)?")
_UPPER = re.compile(rf"\b({_WORDS})\b")
_MARKED = re.compile(rf"(?:\[|<|\blevel=|\blvl=|^)({_WORDS})(?:\]|>|:|\b)", re.IGNORECASE)
_UVICORN_ACCESS = re.compile(
    r'^\w+:\s+(?P<client>\S+) - "(?P<method>[A-Z]+) (?P<path>\S+) [^"]*" (?P<status>\d{3})'
)
_EXCEPTION = re.compile(r"^(?:Traceback \(most recent call last\)|\w+(?:Error|Exception)\b:)")


def parse_text(line: str) -> ParsedLine:
    """Plain text: a level word where loggers put it, and the first time in the line."""
    fields: dict[str, Any] = {}
    level = None
    match = _PREFIX.match(line) or _PY_ASCTIME.match(line)
    if match:
        level = canonical_level(match["level"])
        if match["logger"]:
            fields["logger"] = match["logger"]
    else:
        found = _UPPER.search(line) or _MARKED.search(line)
        if found:
            level = canonical_level(found.group(1))
        elif _EXCEPTION.match(line):
            level = "error"
    access = _UVICORN_ACCESS.match(line)
    if access:
        fields.update(access.groupdict())
        fields["status"] = int(fields["status"])
    return ParsedLine(line, level, find_time(line), fields)


# -- dispatch ------------------------------------------------------------------------

_STRICT: dict[str, Callable[[str], ParsedLine | None]] = {
    "json": parse_json,
    "logfmt": parse_logfmt,
    "common": parse_common,
    "combined": parse_combined,
}
_AUTO_ORDER = (parse_json, parse_combined, parse_common)


def parse_line(line: str, fmt: str = "auto") -> ParsedLine:
    """Parse `line` (no trailing newline) as `fmt`; falls back to plain text."""
    if fmt == "auto":
        for parser in _AUTO_ORDER:
            parsed = parser(line)
            if parsed is not None:
                return parsed
        if "=" in line:
            logfmt = parse_logfmt(line)
            if logfmt is not None and len(logfmt.fields) >= 2:
                return logfmt
        return parse_text(line)
    strict = _STRICT.get(fmt)
    if strict is not None:
        parsed = strict(line)
        if parsed is not None:
            return parsed
    return parse_text(line)
