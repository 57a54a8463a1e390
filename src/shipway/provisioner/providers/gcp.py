"""`gcp.storage_bucket`: a Google Cloud Storage bucket (google-cloud-storage).

What: `name` (default `PROJECT-ENVIRONMENT-NAME` made a valid bucket name), `location`
(`US`), `storage_class` (`STANDARD`), `versioning`, `labels` and
`uniform_bucket_level_access`. Where: `project` (else the credentials' project) and
`endpoint` (an emulator; `STORAGE_EMULATOR_HOST` works too), with anonymous credentials
for an emulator and Application Default Credentials otherwise. A change of name or
location replaces the bucket. Deleting a bucket that still holds objects is refused unless
`force_destroy: true`, as for S3. Needs google-cloud-storage (`pip install 'shipway[gcp]'`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator

from shipway.provisioner.providers.interface import (
    UNKNOWN,
    Observed,
    Provider,
    ProviderContext,
    ProviderError,
    ProviderSettings,
)
from shipway.provisioner.providers.naming import default_name, observed_name

_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]")
_LABEL = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_CONNECTION = frozenset({"project", "endpoint", "force_destroy"})


class StorageBucketSettings(ProviderSettings):
    project: str | None = None
    endpoint: str | None = None
    name: str | None = None
    location: str = "US"
    storage_class: str = "STANDARD"
    versioning: bool = False
    labels: dict[str, str] = Field(default_factory=dict)
    uniform_bucket_level_access: bool = True
    force_destroy: bool = False

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str | None) -> str | None:
        if value is not None and not _BUCKET_NAME.fullmatch(value):
            raise ValueError(
                "a bucket name has 3-63 lowercase letters, digits, '-', '_' and '.', "
                "and starts and ends with a letter or digit"
            )
        return value

    @field_validator("location", "storage_class")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @field_validator("labels")
    @classmethod
    def _valid_labels(cls, labels: dict[str, str]) -> dict[str, str]:
        for key in labels:
            if not _LABEL.fullmatch(key):
                raise ValueError(f"label key {key!r}: lowercase letters, digits, '_' and '-'")
        return labels


def gcp_error(doing: str, error: Exception) -> ProviderError:
    """`error` as a ProviderError: `doing: HTTP-code Reason: the service's message`."""
    if isinstance(error, ProviderError):
        return error
    code = getattr(error, "code", None)
    message = str(getattr(error, "message", None) or error).strip().splitlines()
    first = message[0] if message else ""
    if code is not None:
        reason = getattr(error, "reason", None) or type(error).__name__
        return ProviderError(f"{doing}: {code} {reason}: {first}")
    return ProviderError(f"{doing}: {type(error).__name__}: {first}")


class StorageBucketProvider(Provider):
    type = "gcp.storage_bucket"
    missing = "404 Not Found: bucket"
    Settings = StorageBucketSettings
    replace_on = frozenset({"name", "location"})

    def resource_id(self, name: str, settings: ProviderSettings) -> str:
        assert isinstance(settings, StorageBucketSettings)
        return settings.name or name

    def desired(self, settings: ProviderSettings) -> dict[str, Any]:
        assert isinstance(settings, StorageBucketSettings)
        return settings.model_dump(mode="json", exclude=set(_CONNECTION))

    def _client(self, settings: StorageBucketSettings) -> Any:
        try:
            from google.auth.credentials import AnonymousCredentials
            from google.cloud import storage  # type: ignore[import-untyped]
        except ImportError as e:
            raise ProviderError(
                "gcp.storage_bucket needs google-cloud-storage: pip install 'shipway[gcp]'"
            ) from e
        options: dict[str, Any] = {}
        if settings.project:
            options["project"] = settings.project
        if settings.endpoint:
            options["client_options"] = {"api_endpoint": settings.endpoint}
        if settings.endpoint or os.environ.get("STORAGE_EMULATOR_HOST"):
            options["credentials"] = AnonymousCredentials()  # type: ignore[no-untyped-call]
            options.setdefault("project", "shipway")
        try:
            return storage.Client(**options)
        except Exception as e:
            raise gcp_error("connecting to Google Cloud Storage", e) from None

    def _name(self, ctx: ProviderContext, settings: StorageBucketSettings, resource_id: str) -> str:
        if settings.name is None and resource_id == ctx.name:
            return default_name(ctx, max_length=63)
        return resource_id

    def _observe(
        self, ctx: ProviderContext, settings: StorageBucketSettings, bucket: Any
    ) -> Observed:
        name = str(bucket.name)
        attributes = {
            "name": observed_name(settings.name, name, default_name(ctx, max_length=63)),
            "location": str(bucket.location or "").upper(),
            "storage_class": str(bucket.storage_class or "").upper(),
            "versioning": bool(bucket.versioning_enabled),
            "labels": dict(bucket.labels or {}),
            "uniform_bucket_level_access": bool(
                bucket.iam_configuration.uniform_bucket_level_access_enabled
            ),
        }
        outputs: dict[str, Any] = {"name": name, "url": f"gs://{name}"}
        if bucket.self_link:
            outputs["self_link"] = str(bucket.self_link)
        return Observed(resource_id=name, attributes=attributes, outputs=outputs)

    def read(
        self, ctx: ProviderContext, settings: ProviderSettings, resource_id: str
    ) -> Observed | None:
        assert isinstance(settings, StorageBucketSettings)
        if UNKNOWN in resource_id:
            return None  # named after a resource not applied yet: not made yet
        name = self._name(ctx, settings, resource_id)
        try:
            bucket = self._client(settings).lookup_bucket(name, timeout=ctx.timeout)
        except Exception as e:
            raise gcp_error(f"reading storage bucket {name!r}", e) from None
        return None if bucket is None else self._observe(ctx, settings, bucket)

    def create(self, ctx: ProviderContext, settings: ProviderSettings) -> Observed:
        assert isinstance(settings, StorageBucketSettings)
        name = settings.name or default_name(ctx, max_length=63)
        client = self._client(settings)
        try:
            bucket = client.bucket(name)
            self._set(bucket, settings)
            created = client.create_bucket(bucket, location=settings.location, timeout=ctx.timeout)
            observed = self._observe(ctx, settings, created)
            if observed.attributes != self.desired(settings):
                # NOTE: some servers (gcp-storage-emulator) keep only the name at insert;
                # set what they dropped with a patch, as an update would.
                self._set(created, settings)
                created.patch(timeout=ctx.timeout)
                created.reload(timeout=ctx.timeout)
                observed = self._observe(ctx, settings, created)
            return observed
        except Exception as e:
            raise gcp_error(f"creating storage bucket {name!r}", e) from None

    @staticmethod
    def _set(bucket: Any, settings: StorageBucketSettings) -> None:
        bucket.storage_class = settings.storage_class
        bucket.versioning_enabled = settings.versioning
        bucket.labels = dict(settings.labels)
        bucket.iam_configuration.uniform_bucket_level_access_enabled = (
            settings.uniform_bucket_level_access
        )

    def update(
        self,
        ctx: ProviderContext,
        settings: ProviderSettings,
        current: Observed,
        changes: Mapping[str, tuple[Any, Any]],
    ) -> Observed:
        assert isinstance(settings, StorageBucketSettings)
        name = current.resource_id
        try:
            bucket = self._client(settings).get_bucket(name, timeout=ctx.timeout)
            self._set(bucket, settings)
            bucket.patch(timeout=ctx.timeout)
            bucket.reload(timeout=ctx.timeout)
            return self._observe(ctx, settings, bucket)
        except Exception as e:
            raise gcp_error(f"updating storage bucket {name!r}", e) from None

    def delete(self, ctx: ProviderContext, settings: ProviderSettings, current: Observed) -> None:
        assert isinstance(settings, StorageBucketSettings)
        name = current.resource_id
        client = self._client(settings)
        from google.api_core.exceptions import NotFound

        try:
            bucket = client.bucket(name)
            blobs = list(
                client.list_blobs(bucket, versions=True, max_results=1, timeout=ctx.timeout)
            )
            if blobs:
                if not settings.force_destroy:
                    raise ProviderError(
                        f"deleting storage bucket {name!r}: BucketNotEmpty: it still holds "
                        "objects; set force_destroy: true to delete them with it"
                    )
                for blob in client.list_blobs(bucket, versions=True, timeout=ctx.timeout):
                    bucket.delete_blob(blob.name, generation=blob.generation, timeout=ctx.timeout)
                    ctx.check_cancelled()
            bucket.delete(timeout=ctx.timeout)
        except NotFound:
            return
        except Exception as e:
            raise gcp_error(f"deleting storage bucket {name!r}", e) from None
