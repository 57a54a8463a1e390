"""The `DependencySource` seam: one class per kind of file that declares dependencies.

A source reads one file and yields the `Dependency`s it declares, each with the line that
declares it. Only exact pins have a version: a range (`>=2.0`) names no single release to
look up, so it is reported as unpinned and not matched (a lockfile pins it).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import ClassVar

from packaging.requirements import InvalidRequirement, Requirement

from shipway.scanner.findings import Location
from shipway.scanner.osv.versions import canonical_name
from shipway.scanner.scanners.interface import ScanInputError


@dataclass(frozen=True)
class Dependency:
    ecosystem: str
    #: Canonical for the ecosystem (PEP 503 for PyPI).
    name: str
    #: The exact version pinned, or None when the declaration allows a range.
    version: str | None
    location: Location
    #: The declaration as written, for messages.
    declared: str


class DependencySource(ABC):
    """One kind of dependency file."""

    name: ClassVar[str]

    @abstractmethod
    def matches(self, relative: PurePosixPath) -> bool:
        """Whether the file at `relative` (from the scan root) is one of this kind."""

    @abstractmethod
    def parse(self, path: Path, relative: str, root: Path) -> Iterator[Dependency]:
        """The dependencies declared in the file; ScanInputError when it is malformed."""


def pinned_version(requirement: Requirement) -> str | None:
    """The version an `==` (not a wildcard) or `===` specifier pins, else None."""
    for spec in requirement.specifier:
        if spec.operator == "===" or (spec.operator == "==" and not spec.version.endswith("*")):
            return spec.version
    return None


def pypi_dependency(
    text: str, path: Path, relative: str, line: int, column: int = 1
) -> Dependency | None:
    """A PEP 508 requirement string as a PyPI dependency; None for a direct URL (not an
    index release). ScanInputError at `path:line:col` when it does not parse."""
    try:
        requirement = Requirement(text)
    except InvalidRequirement as e:
        reason = str(e).splitlines()[0]
        raise ScanInputError(
            f"invalid requirement: {reason}", path=path, line=line, column=column
        ) from e
    if requirement.url:
        return None
    return Dependency(
        ecosystem="PyPI",
        name=canonical_name("PyPI", requirement.name),
        version=pinned_version(requirement),
        location=Location(relative, line),
        declared=text,
    )


def line_of(text: str, needle: str, start: int = 0) -> tuple[int, int]:
    """(1-based line, offset) of the first `needle` at or after `start`; (1, start) when it
    is absent, so a finding still names the file."""
    offset = text.find(needle, start)
    if offset < 0:
        return 1, start
    return text.count("\n", 0, offset) + 1, offset


_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def toml_error(error: Exception, path: Path) -> ScanInputError:
    """A `tomllib` error as `file:line:col: reason`."""
    message = str(error)
    match = _TOML_POSITION.search(message)
    reason = _TOML_POSITION.sub("", message).strip()
    if match is None:
        return ScanInputError(f"invalid TOML: {reason}", path=path)
    line, column = int(match.group(1)), int(match.group(2))
    return ScanInputError(f"invalid TOML: {reason}", path=path, line=line, column=column)
