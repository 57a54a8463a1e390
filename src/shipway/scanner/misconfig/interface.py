"""The `MisconfigRule` seam: one rule per module, reading one environment of the manifest
as it will be deployed (inheritance applied) and yielding findings that point at the line
where the setting is written, or where it is missing."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

from yaml.nodes import Node

from shipway.manifest import LoadedManifest, ResolvedEnvironment
from shipway.manifest.nodes import Located, locate, position
from shipway.scanner.findings import Finding, Location, Rule

#: Environments named like these (or extending one) are production.
PRODUCTION = re.compile(r"^(?:prod|production|live)(?:[-_.].*)?$", re.IGNORECASE)


@dataclass(frozen=True)
class ManifestView:
    """One environment of a manifest, and where its settings are written."""

    loaded: LoadedManifest
    environment: ResolvedEnvironment
    #: The manifest's path as findings name it (relative to the scanned folder).
    path: str
    root: Node | None

    @property
    def production(self) -> bool:
        return any(PRODUCTION.match(name) for name in self.environment.chain)

    def location(self, *keys: str | int) -> Location:
        """Where `keys` are written for this environment: the nearest override along the
        `extends` chain, else the top level; when the last keys are missing, the deepest
        part that is written (the service that lacks a limit)."""
        if self.root is None:
            return Location(self.path)
        # Written: the nearest environment that sets it wins, as in the merge.
        overrides: list[tuple[str | int, ...]] = [
            ("environments", name, *keys) for name in self.environment.chain
        ]
        for wanted in (*overrides, tuple(keys)):
            found = locate(self.root, wanted)
            if found.matched == wanted:
                return self._at(found)
        # Missing: the deepest written part; the top level first, where it is usually added.
        best, depth = locate(self.root, keys), len(locate(self.root, keys).matched)
        for wanted in overrides:
            found = locate(self.root, wanted)
            if len(found.matched) >= 3 and len(found.matched) - 2 > depth:
                best, depth = found, len(found.matched) - 2
        return self._at(best)

    def _at(self, found: Located) -> Location:
        line, column = position(found.key_node or found.node)
        return Location(self.path, line, column)


class MisconfigRule(ABC):
    rule: ClassVar[Rule]

    @abstractmethod
    def check(self, view: ManifestView) -> Iterator[Finding]:
        """Findings of this rule in `view`'s environment."""

    def finding(
        self, view: ManifestView, subject: str, keys: Sequence[str | int], detail: str
    ) -> Finding:
        """A finding about `subject` (a service, a resource, an environment) at `keys`."""
        return Finding(
            id=f"{self.rule.id}:{subject}",
            rule=self.rule.id,
            scanner="misconfiguration",
            severity=self.rule.severity,
            location=view.location(*keys),
            title=f"{self.rule.title}: {detail}",
            why=self.rule.why,
            fix=self.rule.fix,
            properties=MappingProxyType({"environment": view.environment.name}),
        )
