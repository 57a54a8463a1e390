"""Unencrypted storage: buckets, databases and volumes with encryption turned off, as the
manifest declares them or as they were provisioned."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from shipway.scanner.findings import Finding, Rule, Severity
from shipway.scanner.misconfig.interface import ManifestView, MisconfigRule, ResourceView
from shipway.scanner.misconfig.values import is_false, is_storage

_KEYS = ("encryption", "encrypted", "storage_encrypted", "encrypt")


def encryption_off(attributes: Mapping[str, Any]) -> tuple[str, Any] | None:
    """The `(key, value)` that turns encryption at rest off, if any."""
    for key in _KEYS:
        if key in attributes and is_false(attributes[key]):
            return key, attributes[key]
    return None


class UnencryptedStorage(MisconfigRule):
    rule = Rule(
        id="misconfig.unencrypted-storage",
        title="Storage without encryption at rest",
        why="Disks, snapshots and backups leave the machine (decommissioned drives, copied "
        "snapshots); without encryption at rest their data is readable by whoever has them.",
        fix="Enable encryption (`encryption: aws:kms`, `encrypted: true`), with a managed key.",
        severity=Severity.MEDIUM,
    )

    def check(self, view: ManifestView) -> Iterator[Finding]:
        for name, resource in view.environment.resources.items():
            found = encryption_off(resource.attributes) if is_storage(resource.type) else None
            if found is not None:
                key, value = found
                detail = f"resource {name!r} ({resource.type}) has {key}: {value}"
                yield self.finding(view, name, ("resources", name, key), detail)

    def check_resource(self, view: ResourceView) -> Iterator[Finding]:
        found = encryption_off(view.configuration) if is_storage(view.type) else None
        if found is not None:
            key, value = found
            yield self.resource_finding(view, f"was provisioned with {key}: {value}")
