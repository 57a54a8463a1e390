"""Line and column of each key's value in a TOML document.

`tomllib` parses but keeps no positions, so this scanner reads the same text line by line:
table headers (`[a.b]`, `[[a]]`), `key = value` lines with dotted and quoted keys, and
skips the insides of multi-line strings and arrays. It only runs on text `tomllib`
accepted, so it can be forgiving; a key it misses falls back to its table's position.
"""

from __future__ import annotations

import re

from shipway.config.origins import Path

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def toml_positions(text: str) -> dict[Path, tuple[int, int]]:
    positions: dict[Path, tuple[int, int]] = {(): (1, 1)}
    table: Path = ()
    array_counts: dict[Path, int] = {}
    depth = 0  # open brackets of a multi-line array or inline table
    in_string: str | None = None  # the delimiter of an open multi-line string
    for number, line in enumerate(text.splitlines(), start=1):
        if in_string is not None:
            if _closes(line, in_string):
                in_string = None
            continue
        if depth > 0:
            depth, in_string = _scan_value(line, depth)
            continue
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[["):
            keys, _ = _keys(stripped, 2)
            base = tuple(keys)
            index = array_counts.get(base, 0)
            array_counts[base] = index + 1
            table = (*base, index)
            positions.setdefault(base, (number, indent + 1))
            positions[table] = (number, indent + 1)
            continue
        if stripped.startswith("["):
            keys, _ = _keys(stripped, 1)
            table = _resolve_arrays(tuple(keys), array_counts)
            positions[table] = (number, indent + 1)
            continue
        keys, end = _keys(stripped, 0)
        if not keys:
            continue
        rest = stripped[end:]
        equals = rest.find("=")
        if equals == -1:
            continue
        value_at = end + equals + 1
        while value_at < len(stripped) and stripped[value_at] in " \t":
            value_at += 1
        column = indent + value_at + 1
        for i in range(1, len(keys)):
            positions.setdefault((*table, *keys[:i]), (number, column))
        positions[(*table, *keys)] = (number, column)
        depth, in_string = _scan_value(stripped[value_at:], 0)
    return positions


def _resolve_arrays(keys: Path, counts: dict[Path, int]) -> Path:
    """`[a.b]` under `[[a]]` names a key of the array's last element."""
    out: Path = ()
    for key in keys:
        out = (*out, key)
        if out in counts:
            out = (*out, counts[out] - 1)
    return out


def _keys(text: str, start: int) -> tuple[list[str], int]:
    """The dotted key at `text[start:]` and where it ends."""
    keys: list[str] = []
    i = start
    while i < len(text):
        while i < len(text) and text[i] in " \t":
            i += 1
        if i >= len(text):
            break
        char = text[i]
        if char in "\"'":
            end = text.find(char, i + 1)
            while char == '"' and end != -1 and text[end - 1] == "\\":
                end = text.find(char, end + 1)
            if end == -1:
                break
            raw = text[i + 1 : end]
            keys.append(raw.encode().decode("unicode_escape") if char == '"' else raw)
            i = end + 1
        else:
            match = _BARE.match(text, i)
            if match is None:
                break
            keys.append(match.group())
            i = match.end()
        while i < len(text) and text[i] in " \t":
            i += 1
        if i < len(text) and text[i] == ".":
            i += 1
            continue
        break
    return keys, i


def _scan_value(text: str, depth: int) -> tuple[int, str | None]:
    """Bracket depth after `text`, and an unterminated multi-line string's delimiter."""
    i = 0
    while i < len(text):
        char = text[i]
        if char == "#":
            break
        if text.startswith('"""', i) or text.startswith("'''", i):
            delimiter = text[i : i + 3]
            end = text.find(delimiter, i + 3)
            if end == -1:
                return depth, delimiter
            i = end + 3
            continue
        if char in "\"'":
            end = i + 1
            while end < len(text) and text[end] != char:
                end += 2 if char == '"' and text[end] == "\\" else 1
            i = end + 1
            continue
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        i += 1
    return max(depth, 0), None


def _closes(line: str, delimiter: str) -> bool:
    return delimiter in line
