"""The misconfiguration scanner: every rule over the environment being deployed, or over
every environment of the manifest when none is named (`shipway scan` without `-e`).
A problem several environments share (they inherit it) is one finding that names them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import MappingProxyType

from shipway.errors import InputError
from shipway.manifest.source import compose_manifest
from shipway.scanner.findings import Finding, Rule
from shipway.scanner.misconfig import RULES, ManifestView
from shipway.scanner.scanners.interface import Scanner, ScanTarget


class MisconfigurationScanner(Scanner):
    name = "misconfiguration"

    def rules(self) -> Sequence[Rule]:
        return tuple(check.rule for check in RULES)

    def scan(self, target: ScanTarget) -> Iterator[Finding]:
        loaded = target.manifest
        if loaded is None:
            return  # nothing to read: the rules are about the manifest
        environments = (
            [target.environment] if target.environment else list(loaded.environments.values())
        )
        try:
            root = compose_manifest(loaded.source_text, str(loaded.path))
        except InputError:
            root = None
        path = _relative(loaded.path, target.root)
        found: dict[tuple[str, str, str], tuple[Finding, list[str]]] = {}
        for environment in environments:
            view = ManifestView(loaded, environment, path, root)
            for check in RULES:
                for finding in check.check(view):
                    key = (finding.rule, finding.id, str(finding.location))
                    if key in found:
                        found[key][1].append(environment.name)
                    else:
                        found[key] = (finding, [environment.name])
        for finding, names in found.values():
            properties = MappingProxyType({**finding.properties, "environment": ", ".join(names)})
            yield dataclasses.replace(finding, properties=properties)


def _relative(manifest: Path, root: Path) -> str:
    try:
        return manifest.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(manifest)
