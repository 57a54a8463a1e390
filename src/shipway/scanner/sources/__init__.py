"""Dependency sources by kind of file, and `collect`: every dependency under a folder."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from shipway.scanner.files import walk
from shipway.scanner.sources.interface import Dependency, DependencySource
from shipway.scanner.sources.locks import (
    NpmLockSource,
    PipfileLockSource,
    PoetryLockSource,
    UvLockSource,
)
from shipway.scanner.sources.pyproject import PyprojectSource
from shipway.scanner.sources.requirements import RequirementsSource

SOURCES: tuple[DependencySource, ...] = (
    RequirementsSource(),
    PyprojectSource(),
    PoetryLockSource(),
    UvLockSource(),
    PipfileLockSource(),
    NpmLockSource(),
)


def collect(root: Path) -> list[Dependency]:
    """Every dependency declared under `root`, each once per place that declares it."""
    found: dict[tuple[str, str, str | None, str, int | None], Dependency] = {}
    for file in walk(root):
        relative = PurePosixPath(file.relative)
        for source in SOURCES:
            if source.matches(relative):
                for dep in source.parse(file.path, file.relative, root):
                    key = (
                        dep.ecosystem,
                        dep.name,
                        dep.version,
                        dep.location.path,
                        dep.location.line,
                    )
                    found.setdefault(key, dep)
    return list(found.values())


__all__ = ["SOURCES", "Dependency", "DependencySource", "collect"]
