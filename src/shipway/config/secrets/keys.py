"""The local vault's master key: from `SHIPWAY_MASTER_KEY`, or from the OS keyring.

`SHIPWAY_MASTER_KEY` is either a key (32 random bytes, URL-safe base64: what
`new_master_key()` prints) or a passphrase, stretched with scrypt and the vault's salt.
Without it, the key lives in the OS keyring (the `keyring` package, optional), under an
entry named after the vault's id: each key rotation makes a new id, so an interrupted
rotation never leaves the keyring holding a key the vault no longer uses.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import secrets as random
from dataclasses import dataclass
from typing import Any

from shipway.config.errors import SecretError

MASTER_KEY_ENV = "SHIPWAY_MASTER_KEY"
NEW_MASTER_KEY_ENV = "SHIPWAY_NEW_MASTER_KEY"
KEYRING_SERVICE = "shipway"
SCRYPT = {"n": 2**15, "r": 8, "p": 1}


@dataclass(frozen=True)
class MasterKey:
    """32 bytes of key material and where they came from (`env`, `passphrase`, `keyring`)."""

    material: bytes
    source: str

    def __repr__(self) -> str:
        return f"MasterKey(source={self.source!r})"


def new_master_key() -> str:
    """A fresh random key, as `SHIPWAY_MASTER_KEY` takes it."""
    return base64.urlsafe_b64encode(random.token_bytes(32)).decode()


def raw_key(text: str) -> bytes | None:
    """The 32 bytes `text` encodes, or None when it is a passphrase."""
    text = text.strip()
    if len(text) != 44:
        return None
    try:
        data = base64.urlsafe_b64decode(text.encode())
    except (binascii.Error, ValueError):
        return None
    return data if len(data) == 32 else None


def kdf_for(text: str) -> dict[str, Any]:
    """The key-derivation record a new vault keeps for `text`."""
    if raw_key(text) is not None:
        return {"name": "none"}
    return {"name": "scrypt", "salt": base64.b64encode(random.token_bytes(16)).decode(), **SCRYPT}


def derive(text: str, kdf: dict[str, Any], source: str) -> MasterKey:
    """The key `text` stands for under the vault's `kdf` record."""
    if kdf.get("name") == "none":
        key = raw_key(text)
        if key is None:
            raise SecretError(
                f"{source} is not a key this vault accepts: the vault was created with a "
                "random key (44 characters of URL-safe base64), not a passphrase"
            )
        return MasterKey(key, "env")
    if kdf.get("name") != "scrypt":
        raise SecretError(f"unknown key derivation {kdf.get('name')!r} in the vault")
    salt = base64.b64decode(str(kdf["salt"]))
    material = hashlib.scrypt(
        text.encode(),
        salt=salt,
        n=int(kdf["n"]),
        r=int(kdf["r"]),
        p=int(kdf["p"]),
        maxmem=128 * 1024 * 1024,
        dklen=32,
    )
    return MasterKey(material, "passphrase")


def _keyring() -> Any:
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        return None
    return keyring


def keyring_entry(vault_id: str) -> str:
    return f"master-key:{vault_id}"


def keyring_available() -> bool:
    return _keyring() is not None


def keyring_get(vault_id: str) -> MasterKey | None:
    keyring = _keyring()
    if keyring is None:
        return None
    try:
        stored = keyring.get_password(KEYRING_SERVICE, keyring_entry(vault_id))
    except Exception as e:  # keyring backends raise their own error types
        raise SecretError(f"the OS keyring failed: {type(e).__name__}") from e
    key = raw_key(stored) if stored else None
    return MasterKey(key, "keyring") if key else None


def keyring_set(vault_id: str, key: bytes) -> None:
    keyring = _keyring()
    if keyring is None:
        raise SecretError(no_key_message())
    try:
        keyring.set_password(
            KEYRING_SERVICE, keyring_entry(vault_id), base64.urlsafe_b64encode(key).decode()
        )
    except Exception as e:
        raise SecretError(f"the OS keyring failed: {type(e).__name__}") from e


def keyring_delete(vault_id: str) -> None:
    keyring = _keyring()
    if keyring is None:
        return
    # NOTE: an entry already gone is what we wanted.
    with contextlib.suppress(Exception):
        keyring.delete_password(KEYRING_SERVICE, keyring_entry(vault_id))


def no_key_message() -> str:
    return (
        f"no master key for the local secret vault: set {MASTER_KEY_ENV} (a key from "
        "`python -m shipway.config.secrets.keys`, or a passphrase) or install an OS keyring "
        "backend for the `keyring` package"
    )


if __name__ == "__main__":  # pragma: no cover - prints a key for SHIPWAY_MASTER_KEY
    print(new_master_key())
