"""Bucket versioning off in production: an overwrite or a delete cannot be undone."""

from __future__ import annotations

from collections.abc import Iterator

from shipway.scanner.findings import Finding, Rule, Severity
from shipway.scanner.misconfig.interface import ManifestView, MisconfigRule, ResourceView
from shipway.scanner.misconfig.values import is_false, is_true

#: Object stores whose versioning is off unless turned on (S3, GCS).
VERSIONED_TYPES = frozenset({"aws.s3_bucket", "gcp.storage_bucket"})


class BucketVersioningDisabled(MisconfigRule):
    rule = Rule(
        id="misconfig.bucket-versioning-disabled",
        title="Production bucket without versioning",
        why="Without object versioning, a bad deploy, a buggy job or ransomware that "
        "overwrites or deletes objects destroys them for good; there is nothing to restore.",
        fix="Set `versioning: true` on the bucket (with a lifecycle rule expiring old "
        "versions to bound the cost).",
        severity=Severity.MEDIUM,
    )

    def check(self, view: ManifestView) -> Iterator[Finding]:
        if not view.production:
            return
        for name, resource in view.environment.resources.items():
            value = resource.attributes.get("versioning")
            if resource.type in VERSIONED_TYPES and is_false(value):
                detail = f"resource {name!r} ({resource.type}) has versioning: {value}"
                yield self.finding(view, name, ("resources", name, "versioning"), detail)

    def check_resource(self, view: ResourceView) -> Iterator[Finding]:
        if view.production and view.type in VERSIONED_TYPES:
            value = view.configuration.get("versioning")
            if not is_true(value):
                state = "off" if value is not None else "not set (off by default)"
                yield self.resource_finding(view, f"has versioning {state}")
