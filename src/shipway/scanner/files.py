"""Which files a scan reads: everything under the root except tool and dependency folders,
virtualenvs, symlinks (which could lead outside the root) and shipway's own state."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SKIPPED_FOLDERS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".shipway",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".hypothesis",
        ".tox",
        ".nox",
        "site-packages",
    }
)


@dataclass(frozen=True)
class ScannedFile:
    path: Path
    #: Relative to the scan root, with `/` separators: how findings name the file.
    relative: str
    size: int


def walk(root: Path) -> Iterator[ScannedFile]:
    """Regular files under `root`, in a stable order."""
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        if prefix and any(e.name == "pyvenv.cfg" for e in entries):
            continue  # a virtualenv under another name
        subfolders = []
        for entry in entries:
            if entry.is_symlink():
                continue
            relative = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in SKIPPED_FOLDERS:
                    subfolders.append((Path(entry.path), relative + "/"))
            elif entry.is_file(follow_symlinks=False):
                yield ScannedFile(Path(entry.path), relative, entry.stat().st_size)
        stack.extend(reversed(subfolders))
