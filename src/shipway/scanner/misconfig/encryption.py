"""Unencrypted storage: buckets, databases and volumes with encryption turned off."""

from __future__ import annotations

from collections.abc import Iterator

from shipway.scanner.findings import Finding, Rule, Severity
from shipway.scanner.misconfig.interface import ManifestView, MisconfigRule
from shipway.scanner.misconfig.values import is_false, is_storage


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
            if not is_storage(resource.type):
                continue
            for key in ("encryption", "encrypted", "storage_encrypted", "encrypt"):
                if key in resource.attributes and is_false(resource.attributes[key]):
                    value = resource.attributes[key]
                    detail = f"resource {name!r} ({resource.type}) has {key}: {value}"
                    yield self.finding(view, name, ("resources", name, key), detail)
                    break
