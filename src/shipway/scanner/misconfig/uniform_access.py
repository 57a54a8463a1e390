"""Buckets with per-object ACLs: one object can be made public without anyone noticing."""

from __future__ import annotations

from collections.abc import Iterator

from shipway.scanner.findings import Finding, Rule, Severity
from shipway.scanner.misconfig.interface import MisconfigRule, ResourceView
from shipway.scanner.misconfig.values import is_false


class BucketAclsNotUniform(MisconfigRule):
    rule = Rule(
        id="misconfig.bucket-acls-not-uniform",
        title="Bucket allows per-object ACLs",
        why="With fine-grained ACLs any object can carry its own grant (`allUsers`), so a "
        "bucket whose policy is private can still serve public objects; uniform access "
        "makes the bucket's IAM policy the only one.",
        fix="Set `uniform_bucket_level_access: true` on the bucket.",
        severity=Severity.LOW,
    )

    def check_resource(self, view: ResourceView) -> Iterator[Finding]:
        if view.type != "gcp.storage_bucket":
            return
        value = view.configuration.get("uniform_bucket_level_access")
        if is_false(value):
            yield self.resource_finding(view, f"has uniform_bucket_level_access: {value}")
