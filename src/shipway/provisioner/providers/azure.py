"""`azure.blob_container`: a container in an Azure Storage account (azure-storage-blob).

Where: `connection_string` (a `${secret:NAME}` reference), or `account_url` with
`account_key` or `sas_token` (references too), or else the SDK's
`AZURE_STORAGE_CONNECTION_STRING`. What: `name` (default `PROJECT-ENVIRONMENT-NAME` made a
valid container name), `public_access` (none, blob or container) and `metadata`. Deleting
a container that still holds blobs is refused unless `force_destroy: true`, as for S3.
Needs azure-storage-blob (`pip install 'shipway[azure]'`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from shipway.provisioner.providers.interface import (
    UNKNOWN,
    Observed,
    Provider,
    ProviderContext,
    ProviderError,
    ProviderSettings,
)
from shipway.provisioner.providers.naming import default_name

_REFERENCE = re.compile(r"\$\{secret:[^}]+\}")
_CONTAINER_NAME = re.compile(r"[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]")
_CONNECTION = frozenset(
    {"account_url", "connection_string", "account_key", "sas_token", "force_destroy"}
)


class BlobContainerSettings(ProviderSettings):
    account_url: str | None = None
    connection_string: str | None = None
    account_key: str | None = None
    sas_token: str | None = None
    name: str | None = None
    public_access: Literal["none", "blob", "container"] = "none"
    metadata: dict[str, str] = Field(default_factory=dict)
    force_destroy: bool = False

    @field_validator("connection_string", "account_key", "sas_token")
    @classmethod
    def _reference_only(cls, value: str | None) -> str | None:
        if value is not None and not _REFERENCE.search(value):
            raise ValueError("must be a ${secret:NAME} reference, not the credential itself")
        return value

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str | None) -> str | None:
        if value is not None and not _CONTAINER_NAME.fullmatch(value):
            raise ValueError(
                "a container name has 3-63 lowercase letters, digits and single '-', "
                "and starts and ends with a letter or digit"
            )
        return value

    @model_validator(mode="after")
    def _one_account(self) -> BlobContainerSettings:
        if self.connection_string and self.account_url:
            raise ValueError("give connection_string or account_url, not both")
        if (self.account_key or self.sas_token) and not self.account_url:
            raise ValueError("account_key and sas_token go with account_url")
        return self


def _default_name(ctx: ProviderContext) -> str:
    return default_name(ctx, max_length=63)


def azure_error(doing: str, error: Exception) -> ProviderError:
    """`error` as a ProviderError: `doing: ErrorCode: the service's message`."""
    if isinstance(error, ProviderError):
        return error
    code = getattr(error, "error_code", None)
    code = getattr(code, "value", code)  # a StorageErrorCode enum, or the service's text
    message = str(getattr(error, "message", None) or error).strip().splitlines()
    first = message[0] if message else ""
    if code:
        return ProviderError(f"{doing}: {code}: {first}")
    return ProviderError(f"{doing}: {type(error).__name__}: {first}")


class BlobContainerProvider(Provider):
    type = "azure.blob_container"
    missing = "ContainerNotFound: container"
    Settings = BlobContainerSettings
    replace_on = frozenset({"name"})

    def resource_id(self, name: str, settings: ProviderSettings) -> str:
        assert isinstance(settings, BlobContainerSettings)
        return settings.name or name

    def desired(self, settings: ProviderSettings) -> dict[str, Any]:
        assert isinstance(settings, BlobContainerSettings)
        return settings.model_dump(mode="json", exclude=set(_CONNECTION))

    def _service(self, ctx: ProviderContext, settings: BlobContainerSettings) -> Any:
        try:
            from azure.storage.blob import BlobServiceClient
        except ImportError as e:
            raise ProviderError(
                "azure.blob_container needs azure-storage-blob: pip install 'shipway[azure]'"
            ) from e
        timeouts: dict[str, Any] = {
            "connection_timeout": ctx.timeout,
            "read_timeout": ctx.timeout,
            "retry_total": 3,
        }
        try:
            if settings.account_url:
                credential: Any = None
                if settings.account_key:
                    account = _account_name(settings.account_url)
                    credential = {
                        "account_name": account,
                        "account_key": ctx.reveal(settings.account_key),
                    }
                elif settings.sas_token:
                    credential = ctx.reveal(settings.sas_token)
                return BlobServiceClient(settings.account_url, credential=credential, **timeouts)
            text = (
                ctx.reveal(settings.connection_string)
                if settings.connection_string
                else os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
            )
            if not text:
                raise ProviderError(
                    "azure.blob_container: give connection_string or account_url "
                    "(or set AZURE_STORAGE_CONNECTION_STRING)"
                )
            return BlobServiceClient.from_connection_string(text, **timeouts)
        except ValueError as e:
            # NOTE: the SDK's message about a malformed connection string never quotes it.
            raise ProviderError(f"azure.blob_container: bad account settings: {e}") from None

    def _container(self, ctx: ProviderContext, settings: BlobContainerSettings, name: str) -> Any:
        return self._service(ctx, settings).get_container_client(name)

    def _name(self, ctx: ProviderContext, settings: BlobContainerSettings, resource_id: str) -> str:
        if settings.name is None and resource_id == ctx.name:
            return _default_name(ctx)
        return resource_id

    def _observe(
        self, ctx: ProviderContext, settings: BlobContainerSettings, container: Any
    ) -> Observed | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            properties = container.get_container_properties(timeout=int(ctx.timeout))
        except ResourceNotFoundError:
            return None
        name = str(container.container_name)
        shown = None if settings.name is None and name == _default_name(ctx) else name
        attributes = {
            "name": shown,
            "public_access": properties.public_access or "none",
            "metadata": dict(properties.metadata or {}),
        }
        outputs = {"name": name, "url": str(container.url), "account": str(container.account_name)}
        return Observed(resource_id=name, attributes=attributes, outputs=outputs)

    def read(
        self, ctx: ProviderContext, settings: ProviderSettings, resource_id: str
    ) -> Observed | None:
        assert isinstance(settings, BlobContainerSettings)
        if UNKNOWN in resource_id:
            return None  # named after a resource not applied yet: not made yet
        name = self._name(ctx, settings, resource_id)
        try:
            return self._observe(ctx, settings, self._container(ctx, settings, name))
        except Exception as e:
            raise azure_error(f"reading blob container {name!r}", e) from None

    def create(self, ctx: ProviderContext, settings: ProviderSettings) -> Observed:
        assert isinstance(settings, BlobContainerSettings)
        name = settings.name or _default_name(ctx)
        try:
            container = self._container(ctx, settings, name)
            container.create_container(
                metadata=settings.metadata or None,
                public_access=None if settings.public_access == "none" else settings.public_access,
                timeout=int(ctx.timeout),
            )
            observed = self._observe(ctx, settings, container)
        except Exception as e:
            raise azure_error(f"creating blob container {name!r}", e) from None
        if observed is None:
            raise ProviderError(f"creating blob container {name!r}: gone right after creation")
        return observed

    def update(
        self,
        ctx: ProviderContext,
        settings: ProviderSettings,
        current: Observed,
        changes: Mapping[str, tuple[Any, Any]],
    ) -> Observed:
        assert isinstance(settings, BlobContainerSettings)
        name = current.resource_id
        try:
            container = self._container(ctx, settings, name)
            if "metadata" in changes:
                container.set_container_metadata(
                    metadata=settings.metadata, timeout=int(ctx.timeout)
                )
            if "public_access" in changes:
                # Keep the container's stored access policies; only the public level changes.
                policy = container.get_container_access_policy(timeout=int(ctx.timeout))
                identifiers = {s.id: s.access_policy for s in policy.get("signed_identifiers", [])}
                container.set_container_access_policy(
                    signed_identifiers=identifiers,
                    public_access=None
                    if settings.public_access == "none"
                    else settings.public_access,
                    timeout=int(ctx.timeout),
                )
            observed = self._observe(ctx, settings, container)
        except Exception as e:
            raise azure_error(f"updating blob container {name!r}", e) from None
        if observed is None:
            raise ProviderError(f"updating blob container {name!r}: ContainerNotFound")
        return observed

    def delete(self, ctx: ProviderContext, settings: ProviderSettings, current: Observed) -> None:
        assert isinstance(settings, BlobContainerSettings)
        name = current.resource_id
        container = self._container(ctx, settings, name)
        from azure.core.exceptions import ResourceNotFoundError

        try:
            blobs = container.list_blobs(results_per_page=1, timeout=int(ctx.timeout))
            if next(iter(blobs), None) is not None and not settings.force_destroy:
                raise ProviderError(
                    f"deleting blob container {name!r}: ContainerNotEmpty: it still holds blobs; "
                    "set force_destroy: true to delete them with it"
                )
            container.delete_container(timeout=int(ctx.timeout))
        except ResourceNotFoundError:
            return
        except Exception as e:
            raise azure_error(f"deleting blob container {name!r}", e) from None


def _account_name(account_url: str) -> str:
    """The storage account of `https://ACCOUNT.blob.core.windows.net` or, for Azurite and
    other path-style endpoints, `http://HOST:PORT/ACCOUNT`."""
    from urllib.parse import urlsplit

    parts = urlsplit(account_url)
    path = parts.path.strip("/")
    if path:
        return path.split("/")[0]
    return (parts.hostname or "").split(".")[0]
