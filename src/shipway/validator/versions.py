"""Versions as tools and package managers print them, held against PEP 440 specifiers.

`python3 --version` says `Python 3.11.2`, dpkg says `1:9.2p1-2+deb12u3`: the version that
counts is found in that text first, then compared with `packaging`.
"""

from __future__ import annotations

import re

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from shipway.validator.interface import CheckError

_DOTTED = re.compile(r"\d+(?:\.\d+)+")
_NUMBER = re.compile(r"\d+")


def find_version(text: str, pattern: str | None = None) -> str | None:
    """The version in a tool's output: `pattern`'s first group (or whole match), else the
    first dotted number (`3.11.2`), else the first number."""
    if pattern is not None:
        match = re.search(pattern, text)
        if match is None:
            return None
        return match.group(1) if match.re.groups else match.group(0)
    match = _DOTTED.search(text) or _NUMBER.search(text)
    return match.group(0) if match else None


def upstream_version(package_version: str) -> str | None:
    """dpkg's and rpm's `[epoch:]upstream[-revision]` reduced to the upstream number."""
    without_epoch = package_version.split(":", 1)[-1]
    match = re.match(r"\d+(?:\.\d+)*", without_epoch)
    return match.group(0) if match else None


def satisfies(version: str, specifier: str) -> bool:
    """Whether `version` meets `specifier` (pre-releases count)."""
    try:
        wanted = SpecifierSet(specifier)
    except InvalidSpecifier as e:
        raise CheckError(
            f"invalid version specifier {specifier!r}", "write it like '>=3.10,<4'"
        ) from e
    try:
        found = Version(version)
    except InvalidVersion:
        plain = find_version(version)
        if plain is None:
            raise CheckError(f"cannot compare version {version!r}") from None
        found = Version(plain)
    return wanted.contains(found, prereleases=True)
