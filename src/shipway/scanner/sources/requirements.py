"""pip requirements files: `requirements*.txt` and `requirements/*.txt`, following `-r` and
`-c` includes inside the scan root."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from shipway.scanner.scanners.interface import ScanInputError
from shipway.scanner.sources.interface import Dependency, DependencySource, pypi_dependency

_INCLUDE = re.compile(r"^(?:-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+)(?P<path>\S+)")
_COMMENT = re.compile(r"(?:^|\s+)#.*$")
# Per-requirement options pip allows after the requirement, e.g. `--hash=sha256:...`.
_TRAILING_OPTIONS = re.compile(r"\s+--?[a-z][a-z-]*(?:[=\s].*)?$")
_NOT_AN_INDEX_RELEASE = re.compile(r"^(?:\.|/|~|[a-z][a-z0-9+.-]*://)|\.(?:whl|zip|tar\.gz)$")


class RequirementsSource(DependencySource):
    name = "requirements"

    def matches(self, relative: PurePosixPath) -> bool:
        if relative.suffix != ".txt":
            return False
        return "requirements" in relative.name or relative.parent.name == "requirements"

    def parse(self, path: Path, relative: str, root: Path) -> Iterator[Dependency]:
        yield from self._parse(path, relative, root.resolve(), {path.resolve()})

    def _parse(
        self, path: Path, relative: str, root: Path, seen: set[Path]
    ) -> Iterator[Dependency]:
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in _logical_lines(text):
            include = _INCLUDE.match(line)
            if include is not None:
                yield from self._include(path, include.group("path"), number, root, seen)
                continue
            if line.startswith("-"):
                continue  # -e/--editable (local or VCS), --index-url, --pre, ...
            line = _TRAILING_OPTIONS.sub("", line).strip()
            if not line or _NOT_AN_INDEX_RELEASE.search(line):
                continue
            dependency = pypi_dependency(line, path, relative, number)
            if dependency is not None:
                yield dependency

    def _include(
        self, path: Path, target: str, number: int, root: Path, seen: set[Path]
    ) -> Iterator[Dependency]:
        included = (path.parent / target).resolve()
        if not included.is_relative_to(root):
            raise ScanInputError(
                f"included file {target!r} is outside the scanned folder", path=path, line=number
            )
        if not included.is_file():
            raise ScanInputError(f"included file {target!r} not found", path=path, line=number)
        if included in seen:
            return
        seen.add(included)
        relative = included.relative_to(root).as_posix()
        yield from self._parse(path.parent / target, relative, root, seen)


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first physical line number, text) with `\\` continuations joined, comments cut."""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        if raw.endswith("\\"):
            pending.append(raw[:-1])
            continue
        pending.append(raw)
        line = _COMMENT.sub("", " ".join(pending)).strip()
        pending = []
        if line:
            yield start, line
    if pending:
        line = _COMMENT.sub("", " ".join(pending)).strip()
        if line:
            yield start, line
