"""OSV records (https://ossf.github.io/osv-schema/) as frozen dataclasses: only the fields
matching and reporting need."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shipway.scanner.osv.versions import canonical_name

EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")


@dataclass(frozen=True)
class Event:
    kind: str
    version: str


@dataclass(frozen=True)
class Range:
    type: str
    events: tuple[Event, ...]


@dataclass(frozen=True)
class Affected:
    """One package an advisory affects, with its ranges and explicit versions."""

    ecosystem: str
    name: str
    ranges: tuple[Range, ...]
    versions: tuple[str, ...]


@dataclass(frozen=True)
class Advisory:
    id: str
    aliases: tuple[str, ...]
    summary: str
    details: str
    modified: str
    withdrawn: str | None
    affected: tuple[Affected, ...]
    #: (type, score) pairs from `severity`, e.g. ("CVSS_V3", "CVSS:3.1/AV:N/...").
    severity: tuple[tuple[str, str], ...]
    #: `database_specific.severity` (GitHub advisories: LOW, MODERATE, HIGH, CRITICAL).
    database_severity: str | None
    references: tuple[tuple[str, str], ...]

    @property
    def url(self) -> str:
        """The advisory's own page when it names one, else the first reference."""
        for kind, url in self.references:
            if kind == "ADVISORY":
                return url
        return self.references[0][1] if self.references else ""


def parse_advisory(data: Any) -> Advisory:
    """An `Advisory` from a decoded OSV document; ValueError says what is missing."""
    if not isinstance(data, Mapping):
        raise ValueError("not an OSV record: the top level is not a mapping")
    record_id = data.get("id")
    if not isinstance(record_id, str) or not record_id:
        raise ValueError("not an OSV record: no 'id'")
    affected = tuple(_affected(entry) for entry in _list(data.get("affected"), "affected"))
    severity = tuple(
        (str(item.get("type", "")), str(item.get("score", "")))
        for item in _list(data.get("severity"), "severity")
        if isinstance(item, Mapping)
    )
    specific = data.get("database_specific")
    db_severity = specific.get("severity") if isinstance(specific, Mapping) else None
    references = tuple(
        (str(ref.get("type", "")), str(ref.get("url", "")))
        for ref in _list(data.get("references"), "references")
        if isinstance(ref, Mapping) and ref.get("url")
    )
    withdrawn = data.get("withdrawn")
    return Advisory(
        id=record_id,
        aliases=tuple(str(a) for a in _list(data.get("aliases"), "aliases")),
        summary=str(data.get("summary") or ""),
        details=str(data.get("details") or ""),
        modified=str(data.get("modified") or ""),
        withdrawn=str(withdrawn) if withdrawn else None,
        affected=affected,
        severity=severity,
        database_severity=str(db_severity) if isinstance(db_severity, str) else None,
        references=references,
    )


def _list(value: Any, name: str) -> list[Any]:
    if value is None or value in ("", "null", "~"):  # a YAML null read by the base loader
        return []
    if not isinstance(value, list):
        raise ValueError(f"'{name}' must be a list")
    return value


def _affected(entry: Any) -> Affected:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("package"), Mapping):
        raise ValueError("an 'affected' entry has no 'package'")
    package = entry["package"]
    ecosystem = str(package.get("ecosystem", ""))
    ranges = []
    for item in _list(entry.get("ranges"), "ranges"):
        if not isinstance(item, Mapping):
            raise ValueError("a range must be a mapping")
        events: list[Event] = []
        for event in _list(item.get("events"), "events"):
            if not isinstance(event, Mapping):
                raise ValueError("a range event must be a mapping")
            events.extend(Event(k, str(event[k])) for k in EVENT_KINDS if k in event)
        ranges.append(Range(str(item.get("type", "")), tuple(events)))
    return Affected(
        ecosystem=ecosystem,
        name=canonical_name(ecosystem, str(package.get("name", ""))),
        ranges=tuple(ranges),
        versions=tuple(str(v) for v in _list(entry.get("versions"), "versions")),
    )
