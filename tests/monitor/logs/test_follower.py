"""Following files across both rotation styles and agent restarts: every line stored
exactly once, in order.

The copy + truncate rotation is the supervisor's own code (`Supervisor._rotate`); the
rename + create one is what logrotate does by default. Each round reads, stores the lines
and the position in one transaction, exactly as the collector does.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import shipway.monitor.logs.follower as follower_module
from shipway.monitor.logs import LogQuery, LogRepository
from shipway.monitor.logs.follower import FileFollower, rotated_siblings
from shipway.monitor.logs.ingest import SourceLabels, ingest
from shipway.monitor.logs.redaction import Redactor
from shipway.runtime.supervisor import Supervisor

KEY = "shop/dev/app.log"


class Writer:
    """Appends numbered lines to a file the way a process does (O_APPEND)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0

    def write(self, n: int, *, newline_last: bool = True) -> None:
        with self.path.open("a", encoding="utf-8") as out:
            for i in range(n):
                self.count += 1
                end = "\n" if newline_last or i < n - 1 else ""
                out.write(f"line {self.count:05d} INFO payload{end}")

    def finish_line(self) -> None:
        with self.path.open("a", encoding="utf-8") as out:
            out.write("\n")


def _round(repo: LogRepository, follower: FileFollower) -> int:
    """One collector round for one file: read, store with the position, advance."""
    total = 0
    while True:
        batch = follower.read()
        labels = SourceLabels("shop", "dev", "api", follower.path)
        repo.append(ingest(batch.lines, labels, Redactor(), 0.0), batch.position)
        follower.advance(batch.position)
        total += len(batch.lines)
        if not batch.more:
            return total


def _stored(repo: LogRepository) -> list[str]:
    lines = repo.search(LogQuery("shop", "dev", after_id=0, limit=1_000_000))
    return [line.message for line in lines]


def _expected(count: int) -> list[str]:
    return [f"line {i:05d} INFO payload" for i in range(1, count + 1)]


def _copytruncate(path: Path, tmp: Path) -> None:
    Supervisor(tmp / "run", log_max_bytes=0)._rotate(path)


def _rename_create(path: Path) -> None:
    for index in range(4, 0, -1):
        older = path.with_name(f"{path.name}.{index}")
        if older.exists():
            older.replace(path.with_name(f"{path.name}.{index + 1}"))
    path.replace(path.with_name(f"{path.name}.1"))
    path.touch()


def test_copytruncate_rotation_loses_and_repeats_nothing(
    tmp_path: Path, logs: LogRepository
) -> None:
    log = tmp_path / "app.log"
    writer = Writer(log)
    follower = FileFollower(KEY, str(log))
    writer.write(10)
    assert _round(logs, follower) == 10
    writer.write(5)  # written, not yet read, then rotated away
    _copytruncate(log, tmp_path)
    assert log.stat().st_size == 0 and (tmp_path / "app.log.1").exists()
    writer.write(3)  # the new file is shorter than the old offset
    _round(logs, follower)
    writer.write(40)  # and now longer again, with different content
    _round(logs, follower)
    assert _stored(logs) == _expected(58)


def test_copytruncate_caught_only_after_the_file_regrew(
    tmp_path: Path, logs: LogRepository
) -> None:
    """The file was truncated and grew past the old offset between two reads: its
    first bytes changed, which is how the rotation is seen."""
    log = tmp_path / "app.log"
    writer = Writer(log)
    follower = FileFollower(KEY, str(log))
    writer.write(5)
    _round(logs, follower)
    writer.write(2)
    _copytruncate(log, tmp_path)
    writer.write(30)
    _round(logs, follower)
    assert _stored(logs) == _expected(37)


def test_rename_rotation_loses_and_repeats_nothing(tmp_path: Path, logs: LogRepository) -> None:
    log = tmp_path / "access.log"
    writer = Writer(log)
    follower = FileFollower(KEY, str(log))
    writer.write(7)
    _round(logs, follower)
    writer.write(4)
    _rename_create(log)  # the unread four lines are now in access.log.1
    _round(logs, follower)
    writer.write(6)
    _round(logs, follower)
    assert _stored(logs) == _expected(17)


def test_two_rotations_between_reads_read_both_files(tmp_path: Path, logs: LogRepository) -> None:
    log = tmp_path / "access.log"
    writer = Writer(log)
    follower = FileFollower(KEY, str(log))
    writer.write(3)
    _round(logs, follower)
    writer.write(2)
    _rename_create(log)
    writer.write(4)  # never seen before the next rotation
    _rename_create(log)
    writer.write(1)
    _round(logs, follower)
    assert [p.name for p in rotated_siblings(str(log))] == ["access.log.1", "access.log.2"]
    assert _stored(logs) == _expected(10)


def test_a_partial_line_waits_for_its_newline_unless_rotated(
    tmp_path: Path, logs: LogRepository
) -> None:
    log = tmp_path / "app.log"
    writer = Writer(log)
    follower = FileFollower(KEY, str(log))
    writer.write(2, newline_last=False)
    _round(logs, follower)
    assert _stored(logs) == _expected(1)
    writer.finish_line()
    _round(logs, follower)
    assert _stored(logs) == _expected(2)
    writer.write(1, newline_last=False)
    _rename_create(log)  # the writer is gone: the partial line is all there will be
    _round(logs, follower)
    assert _stored(logs) == _expected(3)


def test_restart_resumes_from_the_stored_position(tmp_path: Path, logs: LogRepository) -> None:
    log = tmp_path / "app.log"
    writer = Writer(log)
    writer.write(20)
    _round(logs, FileFollower(KEY, str(log)))
    writer.write(5)
    _copytruncate(log, tmp_path)  # while the agent was down
    writer.write(8)
    # a new agent: a new follower that only knows what the store remembers
    restarted = FileFollower(KEY, str(log), logs.position(KEY))
    _round(logs, restarted)
    assert _stored(logs) == _expected(33)
    writer.write(2)
    again = FileFollower(KEY, str(log), logs.position(KEY))
    _round(logs, again)
    _round(logs, again)
    assert _stored(logs) == _expected(35)


def test_lines_read_but_not_stored_are_read_again(tmp_path: Path, logs: LogRepository) -> None:
    """A crash between reading and storing: the position was not advanced, so the next
    agent reads the same lines once."""
    log = tmp_path / "app.log"
    writer = Writer(log)
    writer.write(4)
    follower = FileFollower(KEY, str(log))
    lost = follower.read()  # read, then the process died before storing
    assert len(lost.lines) == 4
    restarted = FileFollower(KEY, str(log), logs.position(KEY))
    _round(logs, restarted)
    assert _stored(logs) == _expected(4)


def test_a_large_backlog_is_read_in_chunks(
    tmp_path: Path, logs: LogRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "app.log"
    writer = Writer(log)
    writer.write(500)
    monkeypatch.setattr(follower_module, "READ_CHUNK", 1000)
    follower = FileFollower(KEY, str(log))
    first = follower.read()
    assert first.more and 0 < len(first.lines) < 500
    _round(logs, follower)
    assert _stored(logs) == _expected(500)


def test_a_compressed_rotation_is_not_read(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("x\n")
    for name in ("app.log.1", "app.log.2.gz", "app.log-20261203", "app.logger", "other.log.1"):
        (tmp_path / name).write_text("y\n")
    os.utime(tmp_path / "app.log-20261203", (1, 1))
    assert [p.name for p in rotated_siblings(str(log))] == ["app.log.1", "app.log-20261203"]


def test_a_rotated_remainder_larger_than_a_chunk_is_read_whole(
    tmp_path: Path, logs: LogRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(follower_module, "READ_CHUNK", 1000)
    log = tmp_path / "app.log"
    writer = Writer(log)
    writer.write(50)
    follower = FileFollower(KEY, str(log))
    first = follower.read()  # one chunk of the fifty lines stored, the rest unread
    logs.append(ingest(first.lines, SourceLabels("shop", "dev", "api", str(log)), Redactor(), 0))
    follower.advance(first.position)
    writer.write(50)
    _copytruncate(log, tmp_path)
    writer.write(5)
    _round(logs, follower)
    assert _stored(logs) == _expected(105)
