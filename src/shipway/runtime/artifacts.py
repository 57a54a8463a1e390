"""Release artifacts: an immutable copy of a service's folder, and its digest.

Each release runs from its own copy under `.shipway/releases/`, so editing the code on
disk never changes what a running or kept release runs, and a rollback starts exactly the
files it ran before, with no rebuild.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

from shipway.errors import ShipwayError

#: Never part of an artifact: version control, shipway's own state, caches, virtualenvs.
DEFAULT_EXCLUDES = (
    ".git",
    ".hg",
    ".shipway",
    "__pycache__",
    "*.pyc",
    ".venv",
    "venv",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".shipwayignore",
)
IGNORE_FILE = ".shipwayignore"
_CHUNK = 1 << 20
Hasher = Any  # hashlib's hash objects have no public type before Python 3.12


class ArtifactError(ShipwayError):
    """A service folder could not be copied into a release."""


def excludes_of(source: Path) -> list[str]:
    """The default patterns plus those of the folder's `.shipwayignore` (one per line,
    `#` comments; a pattern with a `/` matches the path relative to the folder)."""
    patterns = list(DEFAULT_EXCLUDES)
    ignore = source / IGNORE_FILE
    if ignore.is_file():
        for line in ignore.read_text(errors="replace").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                patterns.append(line.strip("/"))
    return patterns


def _excluded(relative: str, name: str, patterns: list[str]) -> bool:
    return any(
        fnmatch.fnmatchcase(relative if "/" in pattern else name, pattern) for pattern in patterns
    )


def copy_artifact(source: Path, target: Path) -> str:
    """Copy `source` to `target` (which must not exist yet) and return the digest of what
    was copied: paths, modes and contents, so the same tree always gives the same digest."""
    if not source.is_dir():
        raise ArtifactError(f"service folder {source} does not exist")
    if target.exists():
        raise ArtifactError(f"release folder {target} already exists")
    patterns = excludes_of(source)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    digest = hashlib.sha256()
    try:
        for directory, dirnames, filenames in os.walk(source):
            here = Path(directory)
            rel_dir = here.relative_to(source).as_posix()
            rel_dir = "" if rel_dir == "." else rel_dir + "/"
            dirnames[:] = sorted(d for d in dirnames if not _excluded(rel_dir + d, d, patterns))
            (partial / rel_dir).mkdir(parents=True, exist_ok=True)
            for name in sorted(filenames):
                relative = rel_dir + name
                if _excluded(relative, name, patterns):
                    continue
                _copy_one(here / name, partial / relative, relative, digest)
        partial.rename(target)
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise ArtifactError(f"cannot copy {source} into a release: {exc}") from exc
    return "sha256:" + digest.hexdigest()


def _copy_one(source: Path, target: Path, relative: str, digest: Hasher) -> None:
    if source.is_symlink():
        link = str(source.readlink())
        target.symlink_to(link)
        digest.update(f"L {relative}\0{link}\0".encode())
        return
    mode = source.stat().st_mode & 0o777
    digest.update(f"F {relative}\0{mode:o}\0".encode())
    with source.open("rb") as reader, target.open("wb") as writer:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
            writer.write(chunk)
    target.chmod(mode)
    digest.update(b"\0")


def remove_artifact(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
