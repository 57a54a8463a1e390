"""The `Provider` plugin seam: how one resource type is read, created, changed and removed.

A provider is stateless; the engine owns the recorded state, the plan and the order. For
each resource the engine:

1. validates the manifest attributes with the provider's `Settings` model (an error names
   the attribute; `${resources.NAME.ATTR}` values of resources not applied yet are left as
   the `UNKNOWN` marker at plan time, and filled in before the provider is called to act);
2. asks `read` for the real state of the resource it recorded (or, with no record, of the
   id the resource would get: `resource_id`), so plans and drift start from the world;
3. compares `desired(settings)` with the observed `attributes`, key by key: a changed key
   in `replace_on` means replace (delete, then create), any other changed key means
   `update`;
4. calls `create`, `update` or `delete`, and records what they return at once.

Secret values never cross this seam in plain text except through `ProviderContext`:
attributes keep `${secret:NAME}` references (`ctx.reveal` gives the value when the provider
connects), and generated credentials are written with `ctx.store_secret`, which returns
the reference that outputs carry (`password: ${secret:resources/db/password}`).
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, SecretStr

from shipway.errors import ShipwayError

#: Placeholder for a value that is only known once another resource is applied.
UNKNOWN = "(known after apply)"


class ProviderError(ShipwayError):
    """A provider call failed. The message carries the provider's own error (the server's
    message, the cloud's error code), prefixed with what was being done."""


class ProviderSettings(BaseModel):
    """Base of each provider's attribute model: unknown attributes are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Observed:
    """A resource as it is in the world (or as it was just made)."""

    #: The real-world identity: database name, bucket name, group id, path.
    resource_id: str
    #: Real attributes in the shape of `Provider.desired`, so the two compare key by key.
    attributes: dict[str, Any] = field(default_factory=dict)
    #: What other resources, the config and services may reference as
    #: `${resources.NAME.ATTR}`: url, host, port, name, ... A credential is the
    #: `${secret:...}` reference returned by `ProviderContext.store_secret`, never a value.
    outputs: dict[str, Any] = field(default_factory=dict)


class ProviderContext(Protocol):
    """What a provider may use while it works on one resource. Built by the engine."""

    @property
    def project(self) -> str: ...

    @property
    def environment(self) -> str: ...

    @property
    def name(self) -> str:
        """The resource's name in the manifest (`db`)."""

    @property
    def base_dir(self) -> Path:
        """The folder that holds the manifest; relative paths start here."""

    @property
    def timeout(self) -> float:
        """Seconds any one network call may take."""

    def reveal(self, value: str) -> str:
        """`value` with every `${secret:NAME}` replaced by the secret's value, to connect
        with. Never store, log or return the result."""

    def store_secret(self, key: str, value: SecretStr) -> str:
        """Keep a generated credential in the environment's secret backend under
        `resources/NAME/KEY`, and return the reference to put in outputs."""

    def read_secret(self, key: str) -> SecretStr | None:
        """A credential stored earlier with `store_secret`, or None."""

    def delete_secrets(self) -> None:
        """Remove every credential stored for this resource (after delete)."""

    def check_cancelled(self) -> None:
        """Raise when the apply was interrupted; call between long steps."""


class Provider(ABC):
    """One resource type. Subclasses set `type` and `Settings` and implement the calls."""

    #: `family.kind`, as written in the manifest (`postgres.database`).
    type: ClassVar[str]
    #: The pydantic model of the type's attributes (subclass of `ProviderSettings`).
    Settings: ClassVar[builtins.type[ProviderSettings]]
    #: Attributes whose change cannot be made in place: the resource is replaced.
    replace_on: ClassVar[frozenset[str]] = frozenset()
    #: True for types whose outputs include generated credentials (`provision rotate`).
    rotatable: ClassVar[bool] = False
    #: How `adopt` names a resource that does not exist, in the service's own words
    #: (`NoSuchBucket: bucket`); empty for the plain `TYPE 'ID' does not exist`.
    missing: ClassVar[str] = ""

    def settings(self, attributes: Mapping[str, Any]) -> ProviderSettings:
        """The manifest attributes, validated. pydantic's ValidationError propagates; the
        engine turns it into a manifest error at the attribute's file:line:col."""
        return self.Settings.model_validate(dict(attributes))

    def resource_id(self, name: str, settings: ProviderSettings) -> str:
        """The id the resource gets when created, for `read` before there is a record.
        Default: the manifest name."""
        return name

    def desired(self, settings: ProviderSettings) -> dict[str, Any]:
        """The attributes compared with the world (JSON values). Default: every setting;
        override to leave out connection settings such as `server`."""
        return settings.model_dump(mode="json")

    @abstractmethod
    def read(
        self, ctx: ProviderContext, settings: ProviderSettings, resource_id: str
    ) -> Observed | None:
        """The resource as it is now, or None when it does not exist."""

    @abstractmethod
    def create(self, ctx: ProviderContext, settings: ProviderSettings) -> Observed:
        """Make the resource; return it as made."""

    def update(
        self,
        ctx: ProviderContext,
        settings: ProviderSettings,
        current: Observed,
        changes: Mapping[str, tuple[Any, Any]],
    ) -> Observed:
        """Change `changes` (attribute -> (now, wanted)) in place; return the result.
        Only called for attributes not in `replace_on`."""
        raise ProviderError(f"{self.type} cannot be changed in place")

    @abstractmethod
    def delete(self, ctx: ProviderContext, settings: ProviderSettings, current: Observed) -> None:
        """Remove the resource. Deleting one that is already gone is not an error."""

    def rotate(
        self, ctx: ProviderContext, settings: ProviderSettings, current: Observed
    ) -> Observed:
        """Replace generated credentials (store them with `ctx.store_secret`)."""
        raise ProviderError(f"{self.type} has no credentials to rotate")

    def adopt(self, ctx: ProviderContext, settings: ProviderSettings, resource_id: str) -> Observed:
        """`provision import`: take over an existing resource. Default: `read` it."""
        observed = self.read(ctx, settings, resource_id)
        if observed is None:
            what = f"{self.type}: {self.missing}" if self.missing else self.type
            raise ProviderError(f"{what} {resource_id!r} does not exist")
        return observed
