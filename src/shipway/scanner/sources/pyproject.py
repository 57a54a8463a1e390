"""`pyproject.toml`: PEP 621 `[project]` dependencies and optional dependencies, PEP 735
`[dependency-groups]`, and Poetry's `[tool.poetry]` dependencies and groups."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.version import InvalidVersion, Version

from shipway.scanner.findings import Location
from shipway.scanner.osv.versions import canonical_name
from shipway.scanner.scanners.interface import ScanInputError
from shipway.scanner.sources.interface import (
    Dependency,
    DependencySource,
    line_of,
    pypi_dependency,
    toml_error,
)


class PyprojectSource(DependencySource):
    name = "pyproject"

    def matches(self, relative: PurePosixPath) -> bool:
        return relative.name == "pyproject.toml"

    def parse(self, path: Path, relative: str, root: Path) -> Iterator[Dependency]:
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise toml_error(e, path) from e
        project = _table(data.get("project"))
        strings = list(_strings(project.get("dependencies"), path))
        for group in _table(project.get("optional-dependencies")).values():
            strings.extend(_strings(group, path))
        for group in _table(data.get("dependency-groups")).values():
            strings.extend(s for s in _list(group, path) if isinstance(s, str))
        cursor = 0
        for requirement in strings:
            line, cursor = line_of(text, requirement, cursor)
            dependency = pypi_dependency(requirement, path, relative, line)
            if dependency is not None:
                yield dependency
        poetry = _table(_table(data.get("tool")).get("poetry"))
        tables = [poetry.get("dependencies"), poetry.get("dev-dependencies")]
        tables += [_table(g).get("dependencies") for g in _table(poetry.get("group")).values()]
        for table in tables:
            for name, constraint in _table(table).items():
                if name.lower() == "python":
                    continue
                yield from _poetry_dependency(name, constraint, text, relative)


def _table(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any, path: Path) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ScanInputError("dependencies must be a list of requirement strings", path=path)
    return value


def _strings(value: Any, path: Path) -> Iterator[str]:
    for item in _list(value, path):
        if not isinstance(item, str):
            raise ScanInputError(f"a dependency must be a string, got {item!r}", path=path)
        yield item


def _poetry_dependency(
    name: str, constraint: Any, text: str, relative: str
) -> Iterator[Dependency]:
    """Poetry constraints: `"1.2.3"` and `"==1.2.3"` pin; `^`, `~`, `>=`, `*` do not;
    a table with `git`, `path` or `url` is no index release."""
    entries = constraint if isinstance(constraint, list) else [constraint]
    key = re.search(rf'^[ \t]*["\']?{re.escape(name)}["\']?[ \t]*=', text, re.MULTILINE)
    line = text.count("\n", 0, key.start()) + 1 if key else 1
    for entry in entries:
        if isinstance(entry, dict):
            if any(key in entry for key in ("git", "path", "url")):
                continue
            entry = entry.get("version", "*")
        spec = str(entry).strip()
        yield Dependency(
            ecosystem="PyPI",
            name=canonical_name("PyPI", name),
            version=_poetry_pin(spec),
            location=Location(relative, line),
            declared=f"{name} = {spec!r}",
        )


def _poetry_pin(spec: str) -> str | None:
    candidate = spec[2:].strip() if spec.startswith("==") else spec
    if "*" in candidate:
        return None
    try:
        Version(candidate)
    except InvalidVersion:
        return None
    return candidate
