"""Versions as each ecosystem orders them: PEP 440 for PyPI (`packaging`), Semantic
Versioning 2.0 for npm and `SEMVER` ranges."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TypeAlias

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

_SEMVER = re.compile(
    r"^v?(?P<major>0|[1-9]\d*)(?:\.(?P<minor>0|[1-9]\d*))?(?:\.(?P<patch>0|[1-9]\d*))?"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$"
)


@dataclass(frozen=True, order=True)
class SemVer:
    """A semantic version; build metadata is ignored, as the specification says."""

    key: tuple[int, int, int, tuple[int], tuple[tuple[int, int | str], ...]]
    text: str = field(compare=False)

    @classmethod
    def parse(cls, text: str) -> SemVer | None:
        match = _SEMVER.match(text.strip())
        if match is None:
            return None
        major, minor, patch = (int(match.group(p) or 0) for p in ("major", "minor", "patch"))
        pre = match.group("pre")
        # A release sorts after all of its pre-releases; numeric identifiers sort below
        # alphanumeric ones; a shorter list of identifiers sorts first.
        pre_key: tuple[tuple[int, int | str], ...] = ()
        if pre:
            pre_key = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split("."))
        return cls((major, minor, patch, (0,) if pre else (1,), pre_key), text)

    def __str__(self) -> str:
        return self.text


AnyVersion: TypeAlias = Version | SemVer


def parse_version(ecosystem: str, text: str, range_type: str = "ECOSYSTEM") -> AnyVersion | None:
    """`text` as `ecosystem` orders it, or None when it is not a valid version there."""
    if range_type == "SEMVER" or ecosystem == "npm":
        return SemVer.parse(text)
    try:
        return Version(text)
    except InvalidVersion:
        return None


def canonical_name(ecosystem: str, name: str) -> str:
    """The name OSV records use to match: PEP 503 normalized for PyPI, as written elsewhere."""
    return canonicalize_name(name) if ecosystem == "PyPI" else name
