"""The `env` backend: secrets are environment variables of the process that resolves them
(the agent, when a service starts). `${secret:db_password}` reads `DB_PASSWORD`, or
`PREFIX_DB_PASSWORD` with `settings: {prefix: PREFIX_}`. Read-only."""

from __future__ import annotations

import re

from pydantic import SecretStr

from shipway.config.errors import SecretNotFoundError
from shipway.config.secrets.interface import SecretBackend, check_name


class EnvSecretBackend(SecretBackend):
    name = "env"
    writable = False

    @property
    def prefix(self) -> str:
        return str(self.scope.settings.get("prefix", ""))

    def variable(self, name: str) -> str:
        """The environment variable that holds secret `name`."""
        return self.prefix + re.sub(r"[^A-Za-z0-9]", "_", check_name(name)).upper()

    def get(self, name: str) -> SecretStr:
        variable = self.variable(name)
        value = self.scope.env.get(variable)
        if value is None:
            raise SecretNotFoundError(
                f"secret {name!r} not found: environment variable {variable} is not set"
            )
        return SecretStr(value)

    def names(self) -> list[str]:
        prefix = self.prefix
        if not prefix:
            # NOTE: without a prefix every variable would be "a secret"; list none.
            return []
        return sorted(k[len(prefix) :].lower() for k in self.scope.env if k.startswith(prefix))

    def read_only_hint(self) -> str:
        return "set the environment variable where the agent runs"
