"""Following one log file across rotation without losing or repeating a line.

The follower keeps a `Position`: the file's identity (device:inode), the offset of the
first unread byte (always at a line start), and a digest of the file's first bytes. Each
`read` returns the complete lines written since, and the position after them; the caller
stores both in one transaction and only then calls `advance`, so a crash between the two
re-reads the same lines instead of skipping them, and a restart resumes at the stored
offset.

Rotation is recognised both ways it happens:
- rename + create (logrotate's default): the path has a new identity; the old file is
  found among the rotated siblings by its identity and read to its end first;
- copy + truncate (shipway's supervisor, logrotate's `copytruncate`): the identity stays,
  but the file is shorter than the offset or no longer starts with the bytes that were
  read; the copy is found among the siblings by that head digest and read to its end first.
If the file was rotated more than once between two reads, the siblings newer than the one
that held the position are read whole, oldest first. A line still without its newline
when its file is rotated away is returned as it is: nothing more will be written to it.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from shipway.monitor.logs.repository import Position

#: Bytes of a file's start whose digest identifies its content across copytruncate.
HEAD_BYTES = 1024
#: At most this much is read from one file per `read`; the caller reads again at once.
READ_CHUNK = 4 * 1024 * 1024
#: A "line" longer than this without a newline is cut and returned in pieces.
MAX_LINE = 256 * 1024
_COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".lz4", ".z")


@dataclass(frozen=True)
class Batch:
    """Lines read, and where the next read starts once they are stored."""

    lines: list[str]
    position: Position
    #: True when more data was left unread (the chunk limit was hit).
    more: bool = False


class FileFollower:
    """Reads the new complete lines of `path` each time it is asked."""

    def __init__(self, key: str, path: str, position: Position | None = None) -> None:
        self.key = key
        self.path = path
        self.position = position

    def advance(self, position: Position) -> None:
        """Adopt `position` once the lines read up to it are stored."""
        self.position = position

    def read(self) -> Batch:
        position = self.position
        current = _stat(self.path)
        if position is None:
            if current is None:
                return Batch([], self._empty(""))
            return self._read_current(self._empty(_identity(current)), [])
        if (
            current is not None
            and _identity(current) == position.identity
            and current.st_size >= position.offset
            and _head_matches(self.path, position)
        ):
            return self._read_current(position, [])
        # Rotated: finish the file the position was in, then anything rotated after it.
        lines = self._finish_rotated(position)
        if current is None:
            # renamed away and not created again yet: wait for the new file
            return Batch(lines, position if not lines else self._gone(position))
        return self._read_current(self._empty(_identity(current)), lines)

    # -- reading -------------------------------------------------------------------

    def _read_current(self, position: Position, lines: list[str]) -> Batch:
        found, offset, more = _read_lines(self.path, position.offset, final=False)
        moved = replace(position, offset=offset)
        if position.head_len < HEAD_BYTES and offset > position.head_len:
            head, head_len = _head(self.path, min(offset, HEAD_BYTES))
            moved = replace(moved, head=head, head_len=head_len)
        return Batch(lines + found, moved, more)

    def _finish_rotated(self, position: Position) -> list[str]:
        siblings = rotated_siblings(self.path)
        for index, sibling in enumerate(siblings):
            if _holds(sibling, position):
                lines, _, _ = _read_lines(str(sibling), position.offset, final=True)
                for newer in reversed(siblings[:index]):
                    more, _, _ = _read_lines(str(newer), 0, final=True)
                    lines.extend(more)
                return lines
        return []  # the old file is gone (deleted or compressed): nothing left to read

    def _empty(self, identity: str) -> Position:
        return Position(self.key, self.path, identity, 0, _digest(b""), 0)

    def _gone(self, position: Position) -> Position:
        # NOTE: an identity no file has, so the next read starts the new file at 0.
        return replace(position, identity="gone", offset=0, head=_digest(b""), head_len=0)


def rotated_siblings(path: str) -> list[Path]:
    """Rotated copies of `path`, newest first: `path.1`, `path.2`, ... then other
    `path.*` / `path-*` names (dateext) by modification time; compressed ones skipped."""
    target = Path(path)
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return []
    numbered: list[tuple[int, Path]] = []
    others: list[tuple[float, Path]] = []
    for entry in entries:
        name = entry.name
        if entry == target or not name.startswith(target.name):
            continue
        rest = name[len(target.name) :]
        if not rest or rest[0] not in ".-" or name.lower().endswith(_COMPRESSED):
            continue
        if re.fullmatch(r"\.\d+", rest):
            numbered.append((int(rest[1:]), entry))
        else:
            try:
                others.append((entry.stat().st_mtime, entry))
            except OSError:
                continue
    numbered.sort()
    others.sort(reverse=True)
    return [p for _, p in numbered] + [p for _, p in others]


def _holds(candidate: Path, position: Position) -> bool:
    """Whether `candidate` is the file `position` was read from: the same inode
    (renamed), or a copy with the same first bytes at least as long (copied)."""
    found = _stat(str(candidate))
    if found is None:
        return False
    if _identity(found) == position.identity:
        return True
    return found.st_size >= position.offset and _head_matches(str(candidate), position)


def _read_lines(path: str, offset: int, *, final: bool) -> tuple[list[str], int, bool]:
    """Complete lines from `offset` (all of the rest when `final`), the offset after
    them, and whether the chunk limit left data unread."""
    try:
        with Path(path).open("rb") as handle:
            handle.seek(offset)
            # NOTE: a rotated file is read to its end at once: its identity is gone from
            # the position afterwards, so a chunked read could not resume in it.
            data = handle.read() if final else handle.read(READ_CHUNK)
            more = not final and len(data) == READ_CHUNK and handle.read(1) != b""
    except OSError:
        return [], offset, False
    end = len(data) if final else data.rfind(b"\n") + 1
    if end == 0 and len(data) >= MAX_LINE:
        end = len(data)
    body = data[:end]
    lines = [_decode(raw) for raw in body.split(b"\n")]
    if body.endswith(b"\n") or not body:
        lines.pop()
    return lines, offset + end, more


def _decode(raw: bytes) -> str:
    return raw.rstrip(b"\r").decode("utf-8", errors="replace")


def _stat(path: str) -> os.stat_result | None:
    try:
        return Path(path).stat()
    except OSError:
        return None


def _identity(stat: os.stat_result) -> str:
    return f"{stat.st_dev}:{stat.st_ino}"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _head(path: str, length: int) -> tuple[str, int]:
    try:
        with Path(path).open("rb") as handle:
            data = handle.read(length)
    except OSError:
        data = b""
    return _digest(data), len(data)


def _head_matches(path: str, position: Position) -> bool:
    if position.head_len == 0:
        return True
    head, length = _head(path, position.head_len)
    return length == position.head_len and head == position.head
