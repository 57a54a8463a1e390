"""The `MisconfigRule` seam: one rule per module. A rule reads up to three things, each
through its own view: one environment of the manifest as it will be deployed (inheritance
applied), that environment's merged configuration (secret references unresolved), and the
resources provisioned for it (`ResourceDescriptor`s). Findings point at the line where
the setting is written, or where it is missing, or name the provisioned resource."""

from __future__ import annotations

import re
from abc import ABC
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

from yaml.nodes import Node

from shipway.manifest import LoadedManifest, ResolvedEnvironment
from shipway.manifest.nodes import Located, locate, position
from shipway.models import ResourceDescriptor
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


@dataclass(frozen=True)
class ConfigView:
    """One environment's merged configuration as the configure stage would apply it:
    plain values, with `${secret:...}` references left as written (never resolved), and
    where each leaf was decided (`file:line:col`, relative to the scanned folder)."""

    environment: str
    production: bool
    values: Mapping[str, Any]
    #: `dotted.key` -> Location of the layer line that decided it.
    origins: Mapping[str, Location]
    #: Keys `config.allow_plaintext` lists: the team says they hold no secret.
    allow_plaintext: frozenset[str] = frozenset()

    def leaves(self) -> Iterator[tuple[str, str, Any]]:
        """`(dotted key, last key name, value)` of every scalar, in key order."""
        yield from scalars(self.values)

    def location(self, key: str) -> Location:
        found = self.origins.get(key)
        if found is None:
            first = next(iter(self.origins.values()), None)
            return Location(first.path if first else "config")
        return found


def _leaves(value: Any, prefix: str, name: str) -> Iterator[tuple[str, str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _leaves(item, f"{prefix}.{key}" if prefix else str(key), str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{prefix}[{index}]", name)
    else:
        yield prefix, name, value


@dataclass(frozen=True)
class ResourceView:
    """One provisioned resource, and where the manifest declares it when it does."""

    resource: ResourceDescriptor
    environment: str | None
    production: bool
    location: Location

    @property
    def type(self) -> str:
        return self.resource.resource_type

    @property
    def configuration(self) -> Mapping[str, Any]:
        return self.resource.configuration

    @property
    def label(self) -> str:
        """`aws.s3_bucket notes-assets`: how titles name the resource."""
        return f"{self.resource.resource_type} {self.resource.resource_id!r}"


class MisconfigRule(ABC):
    """A rule implements the checks that apply to it; each yields nothing by default."""

    rule: ClassVar[Rule]

    def check(self, view: ManifestView) -> Iterator[Finding]:
        """Findings of this rule in `view`'s environment of the manifest."""
        return iter(())

    def check_config(self, view: ConfigView) -> Iterator[Finding]:
        """Findings of this rule in the merged configuration."""
        return iter(())

    def check_resource(self, view: ResourceView) -> Iterator[Finding]:
        """Findings of this rule in one provisioned resource."""
        return iter(())

    def config_finding(self, view: ConfigView, key: str, detail: str) -> Finding:
        """A finding about configuration key `key`, at the layer line that decided it."""
        return Finding(
            id=f"{self.rule.id}:config.{key}",
            rule=self.rule.id,
            scanner="misconfiguration",
            severity=self.rule.severity,
            location=view.location(key),
            title=f"{self.rule.title}: {detail}",
            why=self.rule.why,
            fix=self.rule.fix,
            properties=MappingProxyType({"environment": view.environment, "config_key": key}),
        )

    def resource_finding(self, view: ResourceView, detail: str, subject: str = "") -> Finding:
        """A finding about a provisioned resource (`subject` tells several apart)."""
        resource = view.resource
        name = f"{resource.resource_type}/{resource.resource_id}"
        properties = {"resource": name, "resource_type": resource.resource_type}
        if view.environment:
            properties["environment"] = view.environment
        return Finding(
            id=f"{self.rule.id}:{name}" + (f":{subject}" if subject else ""),
            rule=self.rule.id,
            scanner="misconfiguration",
            severity=self.rule.severity,
            location=view.location,
            title=f"{self.rule.title}: {view.label} {detail}",
            why=self.rule.why,
            fix=self.rule.fix,
            properties=MappingProxyType(properties),
        )

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


def scalars(values: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """`(dotted key, last key name, value)` of every scalar under `values`."""
    yield from _leaves(values, "", "")
