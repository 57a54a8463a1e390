"""An offline OSV export: every record of a folder (recursively) or a zip, as `.json`,
`.yaml` or `.yml` files, indexed by ecosystem and package name.

Loading the PyPA database (2,700 YAML records) takes about 1.5 s, so a loaded database is
kept per process and reused while its files are unchanged (the agent scans many times).
"""

from __future__ import annotations

import json
import os
import threading
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from shipway.scanner.osv.interface import Package, VulnerabilityService
from shipway.scanner.osv.matching import AffectedMatcher
from shipway.scanner.osv.records import Advisory, parse_advisory
from shipway.scanner.osv.versions import parse_version
from shipway.scanner.scanners.interface import ScanInputError

_SUFFIXES = (".json", ".yaml", ".yml")
# NOTE: the base loader keeps every scalar a string: a YAML 1.1 loader would read an
# unquoted version `0.10` as the float 0.1, or a date as a datetime.
_YAML_LOADER: Any = getattr(yaml, "CBaseLoader", yaml.BaseLoader)


class OsvDatabase(VulnerabilityService):
    """Advisories in memory, by (ecosystem, canonical name). Withdrawn records are kept
    out: OSV withdraws a record that was wrong, and it must match nothing."""

    def __init__(self, advisories: Iterable[Advisory], source: str = "") -> None:
        self.source = source
        self.records = 0
        self.withdrawn = 0
        self._index: dict[tuple[str, str], list[AffectedMatcher]] = defaultdict(list)
        for advisory in advisories:
            self.records += 1
            if advisory.withdrawn:
                self.withdrawn += 1
                continue
            for affected in advisory.affected:
                key = (affected.ecosystem, affected.name)
                self._index[key].append(AffectedMatcher(advisory, affected))

    @property
    def packages(self) -> int:
        return len(self._index)

    def index_keys(self) -> list[tuple[str, str]]:
        """Every (ecosystem, canonical name) some advisory names."""
        return list(self._index)

    def candidates(self, ecosystem: str, name: str) -> tuple[AffectedMatcher, ...]:
        """Every advisory entry for the package, whatever the version."""
        return tuple(self._index.get((ecosystem, name), ()))

    def query(self, package: Package) -> list[AffectedMatcher]:
        candidates = self._index.get((package.ecosystem, package.name))
        if not candidates:
            return []
        version = parse_version(package.ecosystem, package.version)
        return [m for m in candidates if m.affects(package.version, version)]

    @classmethod
    def load(cls, path: Path) -> OsvDatabase:
        """Read every record under `path` (a folder or a zip); ScanInputError with the
        file position for a record that does not parse."""
        if not path.exists():
            raise ScanInputError("the vulnerability database does not exist", path=path)
        documents = _zip_documents(path) if path.is_file() else _folder_documents(path)
        return cls((a for name, data in documents for a in _advisories(data, name)), str(path))


def _folder_documents(root: Path) -> Iterator[tuple[str, Any]]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.endswith(_SUFFIXES):
                path = Path(folder) / name
                yield str(path), _decode(path.read_bytes(), str(path))


def _zip_documents(path: Path) -> Iterator[tuple[str, Any]]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise ScanInputError(f"not a folder or a zip of OSV records ({e})", path=path) from e
    with archive:
        for info in archive.infolist():
            if info.is_dir() or not info.filename.endswith(_SUFFIXES):
                continue
            name = f"{path}!/{info.filename}"
            yield name, _decode(archive.read(info), name)


def _decode(data: bytes, name: str) -> Any:
    try:
        if name.endswith(".json"):
            return json.loads(data)
        return yaml.load(data, Loader=_YAML_LOADER)  # noqa: S506 - the base loader builds no objects
    except json.JSONDecodeError as e:
        reason = f"invalid JSON: {e.msg}"
        raise ScanInputError(reason, path=name, line=e.lineno, column=e.colno) from e
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        reason = e.problem or e.context or "invalid YAML"
        raise ScanInputError(f"invalid YAML: {reason}", path=name, line=line, column=column) from e
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ScanInputError(f"unreadable record: {type(e).__name__}", path=name) from e


def _advisories(data: Any, name: str) -> Iterator[Advisory]:
    # An export holds one record per file; a JSON list of records is accepted too.
    for item in data if isinstance(data, list) else [data]:
        try:
            yield parse_advisory(item)
        except ValueError as e:
            raise ScanInputError(str(e), path=name, line=1, column=1) from e


_cache_lock = threading.Lock()
_cache: dict[str, tuple[tuple[Any, ...], OsvDatabase]] = {}


def _signature(path: Path) -> tuple[Any, ...]:
    """Cheap change detection: the zip's size and time, or every folder's time (adding,
    removing or replacing a record file touches its folder)."""
    stat = path.stat()
    if path.is_file():
        return (stat.st_size, stat.st_mtime_ns)
    stamps: list[Any] = [stat.st_mtime_ns]
    for folder, dirs, _files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        stamps.extend((Path(folder) / d).stat().st_mtime_ns for d in dirs)
    return tuple(stamps)


def load_database(path: Path) -> OsvDatabase:
    """`OsvDatabase.load(path)`, reused while the export is unchanged."""
    if not path.exists():
        raise ScanInputError("the vulnerability database does not exist", path=path)
    key = str(path.resolve())
    signature = _signature(path)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] == signature:
            return cached[1]
        database = OsvDatabase.load(path)
        _cache[key] = (signature, database)
        return database
