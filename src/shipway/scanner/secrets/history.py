"""Lines added in a git repository's history, read with the `git` CLI: every commit of
every ref (`git log --all -p`), limited to the scanned folder, as one text per file per
commit so multi-line secrets stay whole."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from shipway.scanner.files import SKIPPED_FOLDERS
from shipway.scanner.scanners.interface import ScannerError

_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")
_COMMIT = re.compile(rb"^commit ([0-9a-f]{40,64})$")
DEADLINE = 600.0


@dataclass(frozen=True)
class AddedText:
    """The lines one commit added to one file, joined; `lines[i]` is the file line
    number of the text's line i."""

    commit: str
    path: str
    text: str
    lines: tuple[int, ...]


def inside_repository(root: Path) -> bool:
    if shutil.which("git") is None:
        if (root / ".git").exists():
            raise ScannerError(f"{root} is a git repository, but git is not installed")
        return False
    done = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--is-inside-work-tree"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return done.returncode == 0 and done.stdout.strip() == "true"


def added_texts(root: Path, cancelled: Callable[[], bool]) -> Iterator[AddedText]:
    """Every file version's added lines, newest commit first."""
    command = [
        "git", "-c", "core.quotepath=false", "-C", str(root), "log", "--all", "-p",
        "--no-color", "--no-ext-diff", "--no-textconv", "--unified=0", "--no-renames",
        "--relative", "--diff-filter=ACMR", "--format=commit %H",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    deadline = time.monotonic() + DEADLINE
    try:
        yield from _parse(process.stdout, lambda: cancelled() or time.monotonic() > deadline)
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()
        stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
        code = process.wait(timeout=30)
        if process.stderr:
            process.stderr.close()
    if time.monotonic() > deadline:
        raise ScannerError(f"reading the git history of {root} took over {DEADLINE:.0f}s")
    if code != 0 and "does not have any commits" not in stderr and not cancelled():
        raise ScannerError(f"git log failed in {root}: {' '.join(stderr.split())[:300]}")


def _parse(stream: Iterator[bytes], stop: Callable[[], bool]) -> Iterator[AddedText]:
    commit = ""
    path: str | None = None
    added: list[tuple[int, str]] = []
    line_number = 0
    in_hunk = False
    for count, raw in enumerate(stream):
        if count % 4096 == 0 and stop():
            break
        if in_hunk and raw.startswith(b"+"):
            if path is not None:
                text = raw[1:].rstrip(b"\r\n").decode("utf-8", errors="replace")
                added.append((line_number, text))
            line_number += 1
            continue
        if in_hunk and raw.startswith((b"-", b"\\")):
            continue  # a removed line, or "\ No newline at end of file"
        hunk = _HUNK.match(raw)
        if hunk is not None:
            in_hunk, line_number = True, int(hunk.group(1))
            continue
        header = _COMMIT.match(raw.rstrip(b"\n"))
        if header is not None or raw.startswith(b"diff --git "):
            if path is not None and added:
                yield _added(commit, path, added)
            added, path, in_hunk = [], None, False
            if header is not None:
                commit = header.group(1).decode()
        elif raw.startswith(b"+++ ") and not in_hunk:
            path = _new_path(raw[4:].rstrip(b"\r\n"))
    if path is not None and added:
        yield _added(commit, path, added)


def _added(commit: str, path: str, added: list[tuple[int, str]]) -> AddedText:
    return AddedText(commit, path, "\n".join(text for _, text in added), tuple(n for n, _ in added))


def _new_path(name: bytes) -> str | None:
    if name == b"/dev/null":
        return None
    text = name.decode("utf-8", errors="replace")
    if text.startswith('"') and text.endswith('"'):
        raw = text[1:-1].encode("latin-1", errors="replace").decode("unicode_escape")
        text = raw.encode("latin-1", errors="replace").decode("utf-8", errors="replace")
    if text.startswith("b/"):
        text = text[2:]
    if any(part in SKIPPED_FOLDERS for part in text.split("/")[:-1]):
        return None
    return text
