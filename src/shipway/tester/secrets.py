"""Where `${secret:NAME}` references in the `tests` section are read from.

NOTE: the configuration manager (issue 6) owns secret backends. Until it is installed the
tester reads the `env` backend itself (a variable per secret, `SHIPWAY_SECRET_<NAME>` by
default, `config.secrets.settings.prefix` to change it) and refuses the others with a
clear message; see docs/decisions/0021-tester-secrets-and-results.md.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Protocol

from pydantic import SecretStr

from shipway.errors import ShipwayError

DEFAULT_PREFIX = "SHIPWAY_SECRET_"


class SecretUnavailableError(ShipwayError):
    """A secret reference that cannot be resolved."""


class SecretSource(Protocol):
    def get(self, name: str) -> SecretStr:
        """The secret's value; raises SecretUnavailableError."""
        ...


class EnvSecretSource:
    """Secrets from environment variables: `api_token` is `SHIPWAY_SECRET_API_TOKEN`."""

    def __init__(self, prefix: str = DEFAULT_PREFIX, environ: Mapping[str, str] | None = None):
        self.prefix = prefix
        self.environ = os.environ if environ is None else environ

    def variable(self, name: str) -> str:
        return self.prefix + re.sub(r"[^A-Za-z0-9]", "_", name).upper()

    def get(self, name: str) -> SecretStr:
        variable = self.variable(name)
        value = self.environ.get(variable)
        if value is None:
            raise SecretUnavailableError(f"secret {name!r} is not set (variable {variable})")
        return SecretStr(value)


class UnavailableSecretSource:
    """A backend this version cannot read: every reference fails with the reason."""

    def __init__(self, backend: str) -> None:
        self.backend = backend

    def get(self, name: str) -> SecretStr:
        raise SecretUnavailableError(
            f"secret {name!r} needs the {self.backend!r} secret backend, which is not "
            "installed yet; use config.secrets.backend: env (SHIPWAY_SECRET_<NAME>)"
        )


def secret_source(backend: str, settings: Mapping[str, object]) -> SecretSource:
    """The source for the manifest's `config.secrets`."""
    if backend == "env":
        return EnvSecretSource(str(settings.get("prefix", DEFAULT_PREFIX)))
    return UnavailableSecretSource(backend)
