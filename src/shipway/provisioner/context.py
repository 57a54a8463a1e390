"""`ResourceContext`: the engine's `ProviderContext` for one resource.

Generated credentials live in the environment's secret backend (the one `config.secrets`
names) under `resources/NAME/KEY`; the state store and outputs only ever hold the
`${secret:resources/NAME/KEY}` reference, so they reach a service the way every other
secret does: revealed when its process starts.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from shipway.config.delivery import reveal, secret_names_in
from shipway.config.errors import SecretNotFoundError
from shipway.config.secrets.interface import SecretBackend
from shipway.errors import ShipwayError
from shipway.provisioner.providers.interface import ProviderError

#: Prefix of the secret names that hold generated credentials.
SECRET_PREFIX = "resources"  # noqa: S105 (a name prefix, not a password)


class ApplyInterruptedError(ShipwayError):
    """The apply was cancelled while this resource was being worked on."""


def secret_name(resource: str, key: str) -> str:
    """The backend name of credential `key` of `resource`: `resources/db/password`."""
    return f"{SECRET_PREFIX}/{resource}/{key}"


def secret_reference(resource: str, key: str) -> str:
    """The reference outputs carry: `${secret:resources/db/password}`."""
    return "${secret:" + secret_name(resource, key) + "}"


@dataclass
class ResourceContext:
    """What a provider may use while it works on resource `name`."""

    project: str
    environment: str
    name: str
    base_dir: Path
    backend: SecretBackend
    timeout: float = 30.0
    cancel: threading.Event = field(default_factory=threading.Event)

    def reveal(self, value: str) -> str:
        names = secret_names_in([value])
        if not names:
            return value
        try:
            values = self.backend.get_many(names)
        except SecretNotFoundError as e:
            raise ProviderError(f"resource {self.name!r}: {e}") from e
        return reveal(value, values)

    def store_secret(self, key: str, value: SecretStr) -> str:
        self.backend.set(secret_name(self.name, key), value)
        return secret_reference(self.name, key)

    def read_secret(self, key: str) -> SecretStr | None:
        try:
            return self.backend.get(secret_name(self.name, key))
        except SecretNotFoundError:
            return None

    def delete_secrets(self) -> None:
        prefix = f"{SECRET_PREFIX}/{self.name}/"
        for name in self.backend.names():
            if name.startswith(prefix):
                with contextlib.suppress(SecretNotFoundError):
                    self.backend.delete(name)

    def check_cancelled(self) -> None:
        if self.cancel.is_set():
            raise ApplyInterruptedError(f"resource {self.name!r}: apply interrupted")
