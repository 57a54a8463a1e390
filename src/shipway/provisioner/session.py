"""What every provisioning operation shares: the environment, its store, its secret
backend, provider instances and the contexts handed to them, and the cancel flag."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from shipway.config.secrets import SecretBackend, open_backend
from shipway.manifest import LoadedManifest, ResolvedEnvironment
from shipway.provisioner import providers
from shipway.provisioner.context import ResourceContext
from shipway.provisioner.diagnostics import error_at, settings_error
from shipway.provisioner.errors import ProvisionError
from shipway.provisioner.providers.interface import Provider, ProviderSettings
from shipway.store import Store

#: Default number of provider calls in flight (`--parallelism`).
DEFAULT_PARALLELISM = 16


@dataclass
class Session:
    """One environment's provisioning: where state lives and how providers are reached."""

    loaded: LoadedManifest
    environment: ResolvedEnvironment
    store: Store
    home: Path
    #: Who the records are written by: a deployment id, or "cli".
    by: str = "cli"
    parallelism: int = DEFAULT_PARALLELISM
    timeout: float = 30.0
    cancel: threading.Event = field(default_factory=threading.Event)
    _backend: SecretBackend | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _providers: dict[str, Provider] = field(default_factory=dict, init=False, repr=False)

    @property
    def project(self) -> str:
        return self.loaded.manifest.project

    @property
    def name(self) -> str:
        return self.environment.name

    @property
    def base_dir(self) -> Path:
        return self.loaded.path.parent.resolve()

    def backend(self) -> SecretBackend:
        """The environment's secret backend, opened on first use."""
        with self._lock:
            if self._backend is None:
                spec = self.environment.config.secrets
                self._backend = open_backend(
                    spec.backend,
                    project=self.project,
                    environment=self.name,
                    base_dir=self.base_dir,
                    home=self.home,
                    settings=dict(spec.settings),
                )
            return self._backend

    def provider(self, resource_type: str, name: str | None = None) -> Provider:
        """The provider of `resource_type`; for a manifest resource `name`, an unknown type
        is a manifest error at its `type:` key."""
        with self._lock:
            found = self._providers.get(resource_type)
        if found is not None:
            return found
        try:
            found = providers.get(resource_type)
        except Exception as e:
            if name is None:
                raise
            raise error_at(self.loaded, self.name, ("resources", name, "type"), str(e)) from e
        with self._lock:
            return self._providers.setdefault(resource_type, found)

    def context(self, name: str) -> ResourceContext:
        return ResourceContext(
            project=self.project,
            environment=self.name,
            name=name,
            base_dir=self.base_dir,
            backend=_LazyBackend(self),
            timeout=self.timeout,
            cancel=self.cancel,
        )

    def settings(
        self, provider: Provider, name: str, attributes: dict[str, Any], *, manifest: bool
    ) -> ProviderSettings:
        """`attributes` validated; an error is a manifest error for a manifest resource."""
        try:
            return provider.settings(attributes)
        except ValidationError as e:
            if manifest:
                raise settings_error(self.loaded, self.name, name, e) from e
            raise ProvisionError(f"resource {name!r}: recorded attributes are invalid: {e}") from e


class _LazyBackend(SecretBackend):
    """The session's backend, opened only when a provider touches a secret (most local
    resources never do, and opening a vault may need its master key)."""

    name = "lazy"

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, name: str) -> SecretStr:
        return self._session.backend().get(name)

    def names(self) -> list[str]:
        return self._session.backend().names()

    def set(self, name: str, value: SecretStr) -> None:
        self._session.backend().set(name, value)

    def delete(self, name: str) -> None:
        self._session.backend().delete(name)

    def get_many(self, names: Iterable[str]) -> dict[str, SecretStr]:
        return self._session.backend().get_many(names)
