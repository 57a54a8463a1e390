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

#: What a parser finds in a line: its level, its own time and its fields. The parsers
#: return these plain tuples and only `parse_line` wraps them in a `ParsedLine`, so the
#: ingestion loop (`ingest.py`) builds one object a line, not two.
Parts = tuple[str | None, float | None, dict[str, Any]]

_LEVEL_KEYS = ("level", "lvl", "severity", "levelname", "log.level", "loglevel", "@l")
_DOTTED_KEYS = frozenset(key for key in _LEVEL_KEYS if "." in key)
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


def _access(line: str, pattern: re.Pattern[str]) -> Parts | None:
    if '] "' not in line:  # cheap: most lines that are not access lines stop here
        return None
    match = pattern.match(line)
    if match is None:
        return None
    # groups in pattern order: remote_addr, ident, user, time, request, status, bytes
    # (then referer, agent, rest for combined); positions are cheaper than groupdict().
    parts = match.groups()
    method, path, protocol = _request(parts[4])
    status = int(parts[5])
    user = parts[2]
    size = parts[6]
    fields: dict[str, Any] = {
        "remote_addr": parts[0],
        "user": None if user == "-" else user,
        "method": method,
        "path": path,
        "protocol": protocol,
        "status": status,
        "bytes": None if size == "-" else int(size),
    }
    if len(parts) > 7:
        referer, agent = parts[7], parts[8]
        fields["referer"] = None if referer == "-" else referer
        fields["agent"] = None if agent == "-" else agent
    clf = CLF.fullmatch(parts[3])
    level = "error" if status >= 500 else "warn" if status >= 400 else "info"
    return level, clf_time(clf) if clf else None, fields


def _request(request: str) -> tuple[str | None, str | None, str | None]:
    pieces = request.split(" ")
    if len(pieces) == 3:
        return pieces[0], pieces[1], pieces[2]
    if len(pieces) == 2:
        return pieces[0], pieces[1], None
    return None, request or None, None


def parse_common(line: str) -> ParsedLine | None:
    return _parsed(line, _access(line, _COMMON_RE))


def parse_combined(line: str) -> ParsedLine | None:
    return _parsed(line, _access(line, _COMBINED_RE))


def _parsed(line: str, parts: Parts | None) -> ParsedLine | None:
    return None if parts is None else ParsedLine(line, *parts)


# -- structured ----------------------------------------------------------------------


def parse_json(line: str) -> ParsedLine | None:
    return _parsed(line, _json(line))


def _json(line: str) -> Parts | None:
    stripped = line.strip()
    if not stripped.startswith("{"):
        return None
    try:
        data = json.loads(stripped)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    return _structured(data)


_LOGFMT_PAIR = re.compile(r'([^\s=]+)=("[^"\\]*(?:\\.[^"\\]*)*"|[^\s"]*)(?=\s|$)')
_LOGFMT_LINE = re.compile(r'\s*(?:[^\s=]+=(?:"[^"\\]*(?:\\.[^"\\]*)*"|[^\s"]*)(?:\s+|$))+')


def parse_logfmt(line: str) -> ParsedLine | None:
    """key=value pairs (values may be quoted); every token of the line must be a pair."""
    return _parsed(line, _logfmt(line))


def _logfmt(line: str) -> Parts | None:
    if _LOGFMT_LINE.fullmatch(line) is None:
        return None
    data: dict[str, Any] = {}
    for key, raw in _LOGFMT_PAIR.findall(line):
        if raw.startswith('"'):
            # NOTE: without a backslash, json.loads gives the text between the quotes or
            # fails (a control character) and falls back to it: skip the call.
            if "\\" not in raw:
                raw = raw[1:-1]
            else:
                try:
                    raw = json.loads(raw)
                except ValueError:
                    raw = raw[1:-1]
        data[key] = raw
    return _structured(data) if data else None


def _structured(data: dict[str, Any]) -> Parts:
    level = None
    for key in _LEVEL_KEYS:
        value = data.get(key)
        if value is None and key in _DOTTED_KEYS and key not in data:
            value = _nested(data, key)
        if value is None:
            continue
        if isinstance(value, str) and (level := canonical_level(value)):
            break
        if isinstance(value, int) and not isinstance(value, bool):
            level = _numeric_level(value)
            break
    when = None
    for key in _TIME_KEYS:  # NOTE: none is dotted, so none is looked up nested
        value = data.get(key)
        if value is not None and (when := value_time(value)) is not None:
            break
    return level, when, data


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
    return ParsedLine(line, *_text(line))


def _text(line: str) -> Parts:
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
    return level, find_time(line), fields


# -- dispatch ------------------------------------------------------------------------

_STRICT: dict[str, Callable[[str], Parts | None]] = {
    "json": _json,
    "logfmt": _logfmt,
    "common": lambda line: _access(line, _COMMON_RE),
    "combined": lambda line: _access(line, _COMBINED_RE),
}


def parse_line(line: str, fmt: str = "auto") -> ParsedLine:
    """Parse `line` (no trailing newline) as `fmt`; falls back to plain text."""
    return ParsedLine(line, *parse_parts(line, fmt))


def parse_parts(line: str, fmt: str = "auto") -> Parts:
    """What `parse_line` finds, as a (level, time, fields) tuple."""
    if fmt == "auto":
        # NOTE: the same order as trying every parser (json, combined, common, logfmt
        # with at least two pairs, text), with each parser's own cheap pre-check hoisted
        # here so a line only meets the parsers it could be.
        parts = _json(line)
        if parts is not None:
            return parts
        if '] "' in line:
            parts = _access(line, _COMBINED_RE) or _access(line, _COMMON_RE)
            if parts is not None:
                return parts
        if "=" in line:
            parts = _logfmt(line)
            if parts is not None and len(parts[2]) >= 2:
                return parts
        return _text(line)
    strict = _STRICT.get(fmt)
    if strict is not None:
        parts = strict(line)
        if parts is not None:
            return parts
    return _text(line)
