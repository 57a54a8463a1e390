"""Whether a version is affected, by the OSV specification's rules, and the nearest fix.

A version is affected when an explicit `versions` entry names it, or when an `ECOSYSTEM`
or `SEMVER` range holds it: walking the range's events in version order, `introduced`
opens the range, `fixed` closes it at that version, `last_affected` closes it after that
version, `limit` caps it. `GIT` ranges name commits, not versions, so they are left to the
explicit list (which the PyPA database fills from them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from packaging.version import Version

from shipway.scanner.osv.records import Advisory, Affected
from shipway.scanner.osv.versions import AnyVersion, parse_version

_ORDER = {"introduced": 0, "last_affected": 1, "fixed": 2, "limit": 3}
VERSION_RANGES = ("ECOSYSTEM", "SEMVER")


@dataclass(frozen=True)
class Bound:
    kind: str
    #: None only for `introduced: "0"`, which is below every version.
    version: AnyVersion | None
    text: str


class AffectedMatcher:
    """One advisory's entry for one package, with its ranges parsed on first use."""

    __slots__ = ("_ranges", "advisory", "affected", "listed")

    def __init__(self, advisory: Advisory, affected: Affected) -> None:
        self.advisory = advisory
        self.affected = affected
        self.listed = frozenset(affected.versions)
        self._ranges: list[list[Bound]] | None = None

    def ranges(self) -> list[list[Bound]]:
        """Version ranges as sorted bounds. A range with an event that is not a valid
        version of the ecosystem is dropped: guessing its order could hide or invent a
        vulnerability; the explicit list still applies."""
        if self._ranges is None:
            parsed: list[list[Bound]] = []
            for rng in self.affected.ranges:
                if rng.type not in VERSION_RANGES:
                    continue
                bounds = [self._bound(e.kind, e.version, rng.type) for e in rng.events]
                if all(b is not None for b in bounds):
                    parsed.append(sorted((b for b in bounds if b), key=_bound_key))
            self._ranges = parsed
        return self._ranges

    def _bound(self, kind: str, text: str, range_type: str) -> Bound | None:
        if kind == "introduced" and text == "0":
            return Bound(kind, None, text)
        version = parse_version(self.affected.ecosystem, text, range_type)
        return Bound(kind, version, text) if version is not None else None

    def affects(self, text: str, version: AnyVersion | None) -> bool:
        if text in self.listed:
            return True
        if version is None:
            return False
        if any(in_range(bounds, version) for bounds in self.ranges()):
            return True
        return bool(self.listed) and not self.listed.isdisjoint(spellings(version))

    def fixes(self) -> list[Bound]:
        return [b for bounds in self.ranges() for b in bounds if b.kind == "fixed"]

    def last_affected(self) -> list[Bound]:
        return [b for bounds in self.ranges() for b in bounds if b.kind == "last_affected"]


def spellings(version: AnyVersion) -> set[str]:
    """How an explicit `versions` list may write `version`: PEP 440 says 1.0 == 1.0.0, so
    the release is tried with trailing zeros dropped and padded up to four parts."""
    if not isinstance(version, Version):
        return {str(version)}
    canonical = str(version)
    release = list(version.release)
    head = f"{version.epoch}!" if version.epoch else ""
    suffix = canonical[len(head) + len(".".join(map(str, release))) :]
    while len(release) > 1 and release[-1] == 0:
        release.pop()
    out = {canonical}
    for size in range(len(release), 5):
        parts = release + [0] * (size - len(release))
        out.add(head + ".".join(map(str, parts)) + suffix)
    return out


def _bound_key(bound: Bound) -> tuple[int, AnyVersion | int, int]:
    # "introduced: 0" sorts first; versions of one range share one type.
    if bound.version is None:
        return (0, 0, _ORDER[bound.kind])
    return (1, bound.version, _ORDER[bound.kind])


def in_range(bounds: Sequence[Bound], version: AnyVersion) -> bool:
    """The OSV specification's evaluation of one range over sorted events."""
    affected = False
    for bound in bounds:
        if bound.version is not None and type(bound.version) is not type(version):
            return False
        if bound.kind == "introduced":
            if bound.version is None or version >= bound.version:  # type: ignore[operator]
                affected = True
        elif bound.kind == "fixed":
            if version >= bound.version:  # type: ignore[operator]
                affected = False
        elif bound.kind == "last_affected":
            if version > bound.version:  # type: ignore[operator]
                affected = False
        elif bound.kind == "limit" and version >= bound.version:  # type: ignore[operator]
            return False
    return affected


def nearest_fix(matchers: Iterable[AffectedMatcher], version: AnyVersion | None) -> str | None:
    """The lowest version above `version` that none of `matchers` affects, among the
    versions the advisories name as fixed; None when no advisory names one."""
    group = list(matchers)
    if version is None:
        return None
    candidates = sorted(
        {
            (b.version, b.text)
            for m in group
            for b in m.fixes()
            if type(b.version) is type(version) and b.version > version  # type: ignore[operator]
        },
        key=lambda item: item[0],
    )
    for candidate, text in candidates:
        if not any(m.affects(text, candidate) for m in group):
            return text
    return None
