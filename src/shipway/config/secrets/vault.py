"""The `vault` backend: HashiCorp Vault's KV version 2 engine (OpenBao speaks the same API),
one entry per secret at `PREFIX/PROJECT/ENVIRONMENT/NAME`, the value under the key `value`.

Settings: `address` (else `VAULT_ADDR`), `mount` (`secret`), `prefix` (`shipway`),
`namespace`. The token comes from `VAULT_TOKEN` in the resolving process's environment,
never from the manifest. Needs `hvac` (`pip install 'shipway[vault]'`).
"""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from shipway.config.errors import SecretError, SecretNotFoundError
from shipway.config.secrets.interface import BackendScope, SecretBackend, check_name

TIMEOUT = 10


class VaultSecretBackend(SecretBackend):
    name = "vault"

    def __init__(self, scope: BackendScope) -> None:
        super().__init__(scope)
        try:
            import hvac
        except ImportError as e:
            raise SecretError(
                "the vault secret backend needs hvac: pip install 'shipway[vault]'"
            ) from e
        settings = scope.settings
        address = settings.get("address") or scope.env.get("VAULT_ADDR")
        if not address:
            raise SecretError("the vault backend needs settings.address or VAULT_ADDR")
        token = scope.env.get("VAULT_TOKEN")
        if not token:
            raise SecretError("the vault backend needs VAULT_TOKEN in the environment")
        self.client: Any = hvac.Client(
            url=str(address),
            token=token,
            namespace=settings.get("namespace") or None,
            timeout=TIMEOUT,
        )
        self.mount = str(settings.get("mount", "secret"))
        base = str(settings.get("prefix", "shipway")).strip("/")
        self.prefix = f"{base}/{scope.project}/{scope.environment}"

    def path(self, name: str) -> str:
        return f"{self.prefix}/{check_name(name)}"

    def get(self, name: str) -> SecretStr:
        try:
            answer = self.client.secrets.kv.v2.read_secret_version(
                path=self.path(name), mount_point=self.mount, raise_on_deleted_version=True
            )
        except Exception as e:
            raise self._translate(e, name) from None
        data = answer.get("data", {}).get("data", {})
        if "value" not in data:
            raise SecretError(f"Vault entry for {name!r} has no 'value' key")
        return SecretStr(str(data["value"]))

    def set(self, name: str, value: SecretStr) -> None:
        try:
            self.client.secrets.kv.v2.create_or_update_secret(
                path=self.path(name),
                secret={"value": value.get_secret_value()},
                mount_point=self.mount,
            )
        except Exception as e:
            raise self._translate(e, name) from None

    def delete(self, name: str) -> None:
        self.get(name)  # a missing secret is an error, as with every backend
        try:
            self.client.secrets.kv.v2.delete_metadata_and_all_versions(
                path=self.path(name), mount_point=self.mount
            )
        except Exception as e:
            raise self._translate(e, name) from None

    def names(self) -> list[str]:
        return sorted(self._list(""))

    def _list(self, below: str) -> list[str]:
        try:
            answer = self.client.secrets.kv.v2.list_secrets(
                path=f"{self.prefix}/{below}".rstrip("/"), mount_point=self.mount
            )
        except Exception as e:
            error = self._translate(e, "*")
            if isinstance(error, SecretNotFoundError):
                return []
            raise error from None
        out: list[str] = []
        for key in answer.get("data", {}).get("keys", []):
            if str(key).endswith("/"):
                out.extend(self._list(f"{below}{key}"))
            else:
                out.append(f"{below}{key}")
        return out

    def _translate(self, error: Exception, name: str) -> SecretError:
        import hvac.exceptions as hv
        import requests

        if isinstance(error, hv.InvalidPath):
            return SecretNotFoundError(f"secret {name!r} not found in Vault ({self.prefix}/{name})")
        if isinstance(error, hv.Forbidden):
            return SecretError(
                f"Vault denied access to secret {name!r} (check VAULT_TOKEN's policy)"
            )
        if isinstance(error, hv.VaultError):
            return SecretError(
                f"Vault refused the request for secret {name!r}: {type(error).__name__}"
            )
        if isinstance(error, requests.RequestException):
            return SecretError(f"Vault unreachable: {type(error).__name__}")
        if isinstance(error, SecretError):
            return error
        return SecretError(f"Vault failed: {type(error).__name__}")
