"""Lockfiles: `poetry.lock`, `uv.lock`, `Pipfile.lock` (PyPI) and `package-lock.json` (npm).
Every entry of a lockfile is an exact version."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from shipway.scanner.findings import Location
from shipway.scanner.osv.versions import canonical_name
from shipway.scanner.scanners.interface import ScanInputError
from shipway.scanner.sources.interface import Dependency, DependencySource, line_of, toml_error

# Sources that are not a package index: the project itself, a local folder, a VCS checkout.
_LOCAL_POETRY = frozenset({"directory", "file", "git", "url"})
_LOCAL_UV = frozenset({"editable", "virtual", "directory", "path", "git", "url"})


def _toml(path: Path) -> tuple[str, dict[str, Any]]:
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise toml_error(e, path) from e


def _json(path: Path) -> tuple[str, Any]:
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        return text, json.loads(text)
    except json.JSONDecodeError as e:
        raise ScanInputError(
            f"invalid JSON: {e.msg}", path=path, line=e.lineno, column=e.colno
        ) from e


def _packages(data: Mapping[str, Any], path: Path) -> list[Mapping[str, Any]]:
    packages = data.get("package", [])
    if not isinstance(packages, list) or not all(isinstance(p, dict) for p in packages):
        raise ScanInputError("'package' must be an array of tables", path=path)
    return packages


def _source_kind(package: Mapping[str, Any]) -> str | None:
    """poetry.lock says `[package.source] type = "git"`; uv.lock `source = { git = ... }`."""
    source = package.get("source")
    if not isinstance(source, dict):
        return None
    kind = source.get("type")
    return str(kind) if kind is not None else next(iter(source), None)


def _toml_lock(path: Path, relative: str, local_sources: frozenset[str]) -> Iterator[Dependency]:
    text, data = _toml(path)
    cursor = 0
    for package in _packages(data, path):
        name, version = package.get("name"), package.get("version")
        if not isinstance(name, str) or not isinstance(version, str):
            continue
        if _source_kind(package) in local_sources:
            continue
        line, cursor = line_of(text, f'name = "{name}"', cursor)
        yield Dependency(
            "PyPI", canonical_name("PyPI", name), version, Location(relative, line), name
        )


class PoetryLockSource(DependencySource):
    name = "poetry.lock"

    def matches(self, relative: PurePosixPath) -> bool:
        return relative.name == "poetry.lock"

    def parse(self, path: Path, relative: str, root: Path) -> Iterator[Dependency]:
        return _toml_lock(path, relative, _LOCAL_POETRY)


class UvLockSource(DependencySource):
    name = "uv.lock"

    def matches(self, relative: PurePosixPath) -> bool:
        return relative.name == "uv.lock"

    def parse(self, path: Path, relative: str, root: Path) -> Iterator[Dependency]:
        return _toml_lock(path, relative, _LOCAL_UV)


class PipfileLockSource(DependencySource):
    name = "Pipfile.lock"

    def matches(self, relative: PurePosixPath) -> bool:
        return relative.name == "Pipfile.lock"

    def parse(self, path: Path, relative: str, root: Path) -> Iterator[Dependency]:
        text, data = _json(path)
        if not isinstance(data, dict):
            raise ScanInputError("the top level must be an object", path=path, line=1, column=1)
        for section in ("default", "develop"):
            entries = data.get(section) or {}
            start = text.find(f'"{section}"')
            for name, entry in entries.items() if isinstance(entries, dict) else ():
                version = entry.get("version") if isinstance(entry, dict) else None
                if not isinstance(version, str) or not version.startswith("=="):
                    continue  # git, path or editable entries have no version
                line, _ = line_of(text, f'"{name}"', max(start, 0))
                yield Dependency(
                    "PyPI",
                    canonical_name("PyPI", name),
                    version.lstrip("="),
                    Location(relative, line),
                    f"{name}{version}",
                )


class NpmLockSource(DependencySource):
    name = "package-lock.json"

    def matches(self, relative: PurePosixPath) -> bool:
        return relative.name in ("package-lock.json", "npm-shrinkwrap.json")

    def parse(self, path: Path, relative: str, root: Path) -> Iterator[Dependency]:
        text, data = _json(path)
        if not isinstance(data, dict):
            raise ScanInputError("the top level must be an object", path=path, line=1, column=1)
        packages = data.get("packages")
        if isinstance(packages, dict):  # lockfileVersion 2 and 3
            for key, entry in packages.items():
                if not key or not isinstance(entry, dict) or entry.get("link"):
                    continue
                name = entry.get("name") or key.rpartition("node_modules/")[2]
                version = entry.get("version")
                if isinstance(name, str) and isinstance(version, str):
                    line, _ = line_of(text, f'"{key}"')
                    yield Dependency("npm", name, version, Location(relative, line), key)
            return
        yield from _npm_v1(data.get("dependencies"), text, relative)


def _npm_v1(tree: Any, text: str, relative: str) -> Iterator[Dependency]:
    """lockfileVersion 1: nested `dependencies` objects."""
    if not isinstance(tree, dict):
        return
    for name, entry in tree.items():
        if not isinstance(entry, dict):
            continue
        version = entry.get("version")
        if isinstance(version, str) and not version.startswith(("file:", "git", "http", "link:")):
            line, _ = line_of(text, f'"{name}": {{')
            yield Dependency("npm", name, version, Location(relative, line), name)
        yield from _npm_v1(entry.get("dependencies"), text, relative)
