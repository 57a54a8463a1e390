"""Where `${secret:NAME}` references in the `tests` section are read from.

The configuration manager owns the secret backends (`config.secrets`: local, env, file,
aws, vault); the tester reads through them, so a test sees the same secrets as the
services it tests.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import SecretStr

from shipway.config.secrets.interface import SecretBackend
from shipway.config.secrets.registry import open_backend
from shipway.errors import ShipwayError
from shipway.manifest import LoadedManifest, ResolvedEnvironment


class SecretUnavailableError(ShipwayError):
    """A secret reference that cannot be resolved."""


class SecretSource(Protocol):
    def get(self, name: str) -> SecretStr:
        """The secret's value; raises SecretUnavailableError."""
        ...


class BackendSecretSource:
    """Secrets from the environment's secret backend (`config.secrets`), through the
    configuration manager; the backend is opened on first use."""

    def __init__(self, loaded: LoadedManifest, environment: ResolvedEnvironment) -> None:
        self.loaded = loaded
        self.environment = environment
        self._backend: SecretBackend | None = None

    def get(self, name: str) -> SecretStr:
        try:
            if self._backend is None:
                spec = self.environment.config.secrets
                self._backend = open_backend(
                    spec.backend,
                    project=self.loaded.manifest.project,
                    environment=self.environment.name,
                    base_dir=self.loaded.path.parent,
                    home=self.loaded.path.parent / ".shipway",
                    settings=dict(spec.settings),
                )
            return self._backend.get(name)
        except ShipwayError as exc:
            raise SecretUnavailableError(f"secret {name!r}: {exc}") from exc


class UnavailableSecretSource:
    """No backend at all: every reference fails with the reason."""

    def __init__(self, backend: str) -> None:
        self.backend = backend

    def get(self, name: str) -> SecretStr:
        raise SecretUnavailableError(f"secret {name!r}: no {self.backend!r} backend here")


def secret_source(loaded: LoadedManifest, environment: ResolvedEnvironment) -> SecretSource:
    """The source for the manifest's `config.secrets`, for `environment`."""
    return BackendSecretSource(loaded, environment)
