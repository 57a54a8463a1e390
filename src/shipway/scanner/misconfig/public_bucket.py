"""Public buckets: object storage anyone on the internet can list or read, as the manifest
declares it or as it was provisioned (`aws.s3_bucket` `public`, `azure.blob_container`
`public_access: blob|container`, public ACLs)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from shipway.scanner.findings import Finding, Rule, Severity
from shipway.scanner.misconfig.interface import ManifestView, MisconfigRule, ResourceView
from shipway.scanner.misconfig.values import is_bucket, is_false, is_true

_PUBLIC_ACLS = frozenset({"public-read", "public-read-write", "authenticated-read"})
_PRIVATE_ACCESS = frozenset({"private", "none", "off", "false"})


def public_setting(attributes: Mapping[str, Any]) -> tuple[str, Any] | None:
    """The `(key, value)` that makes a bucket public, if any."""
    for key in ("public", "public_access", "acl", "block_public_access"):
        value = attributes.get(key)
        public = (
            (key == "public" and is_true(value))
            or (
                key == "public_access"
                and value is not None
                and value is not False
                and str(value).lower() not in _PRIVATE_ACCESS
            )
            or (key == "acl" and str(value).lower() in _PUBLIC_ACLS)
            or (key == "block_public_access" and is_false(value))
        )
        if public:
            return key, value
    return None


class PublicBucket(MisconfigRule):
    rule = Rule(
        id="misconfig.public-bucket",
        title="Publicly readable bucket",
        why="Everything put in the bucket can be listed and downloaded by anyone; most "
        "bucket leaks start with an object that was not meant to be there.",
        fix="Set `public: false` and serve public files through a CDN or signed URLs.",
        severity=Severity.HIGH,
    )

    def check(self, view: ManifestView) -> Iterator[Finding]:
        for name, resource in view.environment.resources.items():
            if not is_bucket(resource.type):
                continue
            found = public_setting(resource.attributes)
            if found is not None:
                key, value = found
                detail = f"resource {name!r} ({resource.type}) has {key}: {value}"
                yield self.finding(view, name, ("resources", name, key), detail)

    def check_resource(self, view: ResourceView) -> Iterator[Finding]:
        if not is_bucket(view.type):
            return
        found = public_setting(view.configuration)
        if found is not None:
            key, value = found
            yield self.resource_finding(view, f"was provisioned with {key}: {value}")
