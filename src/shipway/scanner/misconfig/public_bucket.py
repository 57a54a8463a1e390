"""Public buckets: object storage anyone on the internet can list or read."""

from __future__ import annotations

from collections.abc import Iterator

from shipway.scanner.findings import Finding, Rule, Severity
from shipway.scanner.misconfig.interface import ManifestView, MisconfigRule
from shipway.scanner.misconfig.values import is_bucket, is_false, is_true

_PUBLIC_ACLS = frozenset({"public-read", "public-read-write", "authenticated-read"})


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
            attributes = resource.attributes
            for key in ("public", "public_access", "acl", "block_public_access"):
                value = attributes.get(key)
                public = (
                    (key == "public" and is_true(value))
                    or (key == "public_access" and value not in (None, "private", "none"))
                    or (key == "acl" and str(value).lower() in _PUBLIC_ACLS)
                    or (key == "block_public_access" and is_false(value))
                )
                if public:
                    detail = f"resource {name!r} ({resource.type}) has {key}: {value}"
                    yield self.finding(view, name, ("resources", name, key), detail)
                    break
