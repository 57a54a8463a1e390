"""The misconfiguration scanner: every rule over the environment being deployed, or over
every environment of the manifest when none is named (`shipway scan` without `-e`):
the manifest, the environment's merged configuration (through the ConfigurationManager,
secret references left unresolved) and the provisioned resources the scan was given.
A problem several environments share (they inherit it) is one finding that names them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from shipway.errors import InputError
from shipway.manifest import LoadedManifest, ResolvedEnvironment
from shipway.manifest.nodes import locate, position
from shipway.manifest.source import compose_manifest
from shipway.models import ResourceDescriptor
from shipway.scanner.findings import Finding, Location, Rule
from shipway.scanner.misconfig import RULES, ConfigView, ManifestView, ResourceView
from shipway.scanner.misconfig.interface import PRODUCTION
from shipway.scanner.scanners.interface import Scanner, ScanTarget


class MisconfigurationScanner(Scanner):
    name = "misconfiguration"

    def rules(self) -> Sequence[Rule]:
        return tuple(check.rule for check in RULES)

    def scan(self, target: ScanTarget) -> Iterator[Finding]:
        loaded = target.manifest
        root = None
        if loaded is not None:
            try:
                root = compose_manifest(loaded.source_text, str(loaded.path))
            except InputError:
                root = None
            yield from self._manifest(target, loaded, root)
        yield from self._resources(target, loaded, root)

    def _manifest(self, target: ScanTarget, loaded: LoadedManifest, root: Any) -> Iterator[Finding]:
        environments = (
            [target.environment] if target.environment else list(loaded.environments.values())
        )
        path = _relative(loaded.path, target.root)
        found: dict[tuple[str, str, str], tuple[Finding, list[str]]] = {}
        for environment in environments:
            view = ManifestView(loaded, environment, path, root)
            config = config_view(loaded, environment, target)
            for check in RULES:
                results = list(check.check(view))
                if config is not None:
                    results += check.check_config(config)
                for finding in results:
                    key = (finding.rule, finding.id, str(finding.location))
                    if key in found:
                        found[key][1].append(environment.name)
                    else:
                        found[key] = (finding, [environment.name])
        for finding, names in found.values():
            properties = MappingProxyType({**finding.properties, "environment": ", ".join(names)})
            yield dataclasses.replace(finding, properties=properties)

    def _resources(
        self, target: ScanTarget, loaded: LoadedManifest | None, root: Any
    ) -> Iterator[Finding]:
        if target.environment is not None:
            environment: str | None = target.environment.name
            chain = target.environment.chain
        else:
            environment = target.environment_name
            chain = [environment] if environment else []
        production = any(PRODUCTION.match(name) for name in chain)
        for resource in target.resources:
            location = _resource_location(resource, loaded, root, target.root)
            view = ResourceView(resource, environment, production, location)
            for check in RULES:
                yield from check.check_resource(view)


def config_view(
    loaded: LoadedManifest, environment: ResolvedEnvironment, target: ScanTarget
) -> ConfigView | None:
    """The environment's merged configuration, or None when it has no layers. Resources
    and secrets stay references: the scan reads what is written, never a secret."""
    from shipway.config.manager import ConfigurationManager

    spec = environment.config
    if not spec.layers:
        return None
    home = target.home or loaded.path.parent / ".shipway"
    manager = ConfigurationManager(loaded, environment, home)
    resolution = manager.resolve(check=False)
    origins: dict[str, Location] = {}
    base = loaded.path.parent
    for dotted, path in _paths(resolution.resolved.values, (), ""):
        origin = resolution.stack.origin(path)
        source = origin.source
        try:
            source = _relative(loaded.resolve_path(source), target.root)
        except InputError:
            source = _relative(base / source, target.root)
        origins[dotted] = Location(source, origin.line, origin.column)
    return ConfigView(
        environment=environment.name,
        production=any(PRODUCTION.match(n) for n in environment.chain),
        values=resolution.resolved.values,
        origins=origins,
        allow_plaintext=frozenset(spec.allow_plaintext),
    )


def _paths(value: Any, path: tuple[str | int, ...], dotted: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key), f"{dotted}.{key}" if dotted else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index), f"{dotted}[{index}]")
    else:
        yield dotted, path


def _resource_location(
    resource: ResourceDescriptor, loaded: LoadedManifest | None, root: Any, scan_root: Path
) -> Location:
    """The manifest line declaring the resource (by the manifest name the store recorded,
    `metadata.manifest_name`, or the resource id), else a pseudo-path naming it."""
    if loaded is not None:
        path = _relative(loaded.path, scan_root)
        for name in (resource.metadata.get("manifest_name"), resource.resource_id):
            if root is not None and isinstance(name, str):
                found = locate(root, ("resources", name))
                if found.matched == ("resources", name):
                    line, column = position(found.key_node or found.node)
                    return Location(path, line, column)
        return Location(path)
    return Location(f"resources/{resource.resource_type}/{resource.resource_id}")


def _relative(manifest: Path, root: Path) -> str:
    try:
        return manifest.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(manifest)
