"""The `VulnerabilityService` seam: which advisories affect a package version.

Two services: `OsvDatabase` (an offline OSV export, a folder or a zip) and `OsvApiService`
(the OSV API, or any server speaking it). Batching is a default method a service may
override, as the API does with `querybatch`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from shipway.scanner.osv.matching import AffectedMatcher
from shipway.scanner.scanners.interface import ScannerError


class VulnerabilityServiceError(ScannerError):
    """The advisories could not be read: the dependency scan is incomplete."""


@dataclass(frozen=True)
class Package:
    """A package version to look up; `name` is canonical for its ecosystem."""

    ecosystem: str
    name: str
    version: str


class VulnerabilityService(ABC):
    @abstractmethod
    def query(self, package: Package) -> list[AffectedMatcher]:
        """The advisories (one matcher per advisory entry) affecting `package`."""

    def query_all(self, packages: Sequence[Package]) -> dict[Package, list[AffectedMatcher]]:
        return {package: self.query(package) for package in dict.fromkeys(packages)}
