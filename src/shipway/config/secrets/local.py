"""The `local` backend: an encrypted vault under `.shipway/secrets/`.

Layout: `vault.json` (vault id, key derivation, a key check) and one file per secret,
`ENV/NAME.secret`, each AES-256-GCM encrypted under the master key with a fresh nonce and
the vault id, environment and name as associated data, so a file copied over another's
name does not decrypt. Folders are 0700, files 0600, every write is atomic. Rotating the
key re-encrypts every secret of every environment into a new vault folder, then swaps it
in; a vault found half-swapped is completed on the next open.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets as random
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr

from shipway.config.errors import SecretError, SecretNotFoundError
from shipway.config.secrets import keys
from shipway.config.secrets.interface import BackendScope, SecretBackend, check_name
from shipway.store.records import utc_now

FORMAT = 1
SUFFIX = ".secret"
_CHECK = b"shipway local vault key check"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: Any) -> bytes:
    return base64.b64decode(str(text))


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically, mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{random.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        tmp.chmod(0o600)
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


class LocalVault:
    """The vault folder: metadata, key handling and encrypted files, for every environment."""

    def __init__(self, root: Path, env: dict[str, str] | None = None) -> None:
        self.root = root
        self.env = dict(env or {})
        self._key: keys.MasterKey | None = None
        self._recover()

    # --- metadata and keys ----------------------------------------------------------

    @property
    def meta_file(self) -> Path:
        return self.root / "vault.json"

    def meta(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.meta_file.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            raise SecretError(f"the vault's {self.meta_file} is unreadable: {e}") from e
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise SecretError(f"{self.meta_file} is not a shipway vault (format {FORMAT})")
        return data

    def key(self, *, create: bool = False) -> keys.MasterKey:
        """The master key that opens this vault (creating the vault when `create`)."""
        if self._key is not None:
            return self._key
        meta = self.meta()
        if meta is None:
            if not create:
                raise SecretError("the local vault is empty: nothing to decrypt")
            key, meta = self.new_meta(self.env.get(keys.MASTER_KEY_ENV))
            self._secure(self.root)
            write_private(self.meta_file, json.dumps(meta, indent=2).encode())
            self._key = key
            return key
        key = self._open_key(meta)
        self._verify(key, meta)
        self._key = key
        return key

    def _open_key(self, meta: dict[str, Any]) -> keys.MasterKey:
        if meta["kdf"].get("name") == "keyring":
            found = keys.keyring_get(str(meta["vault_id"]))
            if found is None:
                raise SecretError(
                    "the local vault's key is kept in the OS keyring, which has no entry "
                    f"{keys.keyring_entry(str(meta['vault_id']))!r} (service "
                    f"{keys.KEYRING_SERVICE!r}) on this machine"
                )
            return found
        text = self.env.get(keys.MASTER_KEY_ENV)
        if not text:
            raise SecretError(keys.no_key_message())
        return keys.derive(text, meta["kdf"], keys.MASTER_KEY_ENV)

    def new_meta(
        self, text: str | None, *, store_in_keyring: bool = True
    ) -> tuple[keys.MasterKey, dict[str, Any]]:
        """A new vault id and key record: for `text` (key or passphrase), else a random key
        kept in the OS keyring."""
        vault_id = random.token_hex(8)
        if text:
            kdf = keys.kdf_for(text)
            key = keys.derive(text, kdf, keys.MASTER_KEY_ENV)
        else:
            if not keys.keyring_available():
                raise SecretError(keys.no_key_message())
            kdf = {"name": "keyring"}
            key = keys.MasterKey(random.token_bytes(32), "keyring")
            if store_in_keyring:
                keys.keyring_set(vault_id, key.material)
        nonce = random.token_bytes(12)
        check = AESGCM(key.material).encrypt(nonce, _CHECK, vault_id.encode())
        meta = {
            "format": FORMAT,
            "vault_id": vault_id,
            "kdf": kdf,
            "check": {"nonce": _b64(nonce), "ciphertext": _b64(check)},
            "created_at": utc_now().isoformat(),
        }
        return key, meta

    def _verify(self, key: keys.MasterKey, meta: dict[str, Any]) -> None:
        check = meta["check"]
        try:
            AESGCM(key.material).decrypt(
                _unb64(check["nonce"]), _unb64(check["ciphertext"]), str(meta["vault_id"]).encode()
            )
        except InvalidTag:
            where = keys.MASTER_KEY_ENV if key.source != "keyring" else "the OS keyring's key"
            raise SecretError(f"wrong master key: {where} does not open {self.root}") from None

    # --- secrets --------------------------------------------------------------------

    def file(self, environment: str, name: str) -> Path:
        return self.root / quote(environment, safe="") / (quote(check_name(name), safe="") + SUFFIX)

    def read(self, environment: str, name: str) -> SecretStr:
        file = self.file(environment, name)
        try:
            record = json.loads(file.read_text())
        except FileNotFoundError:
            raise SecretNotFoundError(
                f"secret {name!r} not found in the local vault for {environment!r}"
            ) from None
        except (OSError, ValueError) as e:
            raise SecretError(f"secret {name!r}: unreadable vault file ({type(e).__name__})") from e
        return SecretStr(self._decrypt(environment, name, record).decode("utf-8"))

    def _decrypt(self, environment: str, name: str, record: dict[str, Any]) -> bytes:
        meta = self.meta()
        if meta is None:
            raise SecretError("the local vault has secret files but no vault.json")
        key = self.key()
        try:
            return AESGCM(key.material).decrypt(
                _unb64(record["nonce"]),
                _unb64(record["ciphertext"]),
                self._aad(str(meta["vault_id"]), environment, name),
            )
        except (InvalidTag, KeyError, ValueError) as e:
            raise SecretError(
                f"secret {name!r} cannot be decrypted: the file was altered or moved"
            ) from e

    @staticmethod
    def _aad(vault_id: str, environment: str, name: str) -> bytes:
        return f"shipway:{vault_id}:{environment}:{name}".encode()

    def write(self, environment: str, name: str, value: SecretStr) -> None:
        key = self.key(create=True)
        meta = self.meta()
        assert meta is not None
        self._write_with(self.root, key, str(meta["vault_id"]), environment, name, value)

    def _write_with(
        self,
        root: Path,
        key: keys.MasterKey,
        vault_id: str,
        environment: str,
        name: str,
        value: SecretStr,
    ) -> None:
        nonce = random.token_bytes(12)
        ciphertext = AESGCM(key.material).encrypt(
            nonce, value.get_secret_value().encode("utf-8"), self._aad(vault_id, environment, name)
        )
        record = {
            "format": FORMAT,
            "nonce": _b64(nonce),
            "ciphertext": _b64(ciphertext),
            "updated_at": utc_now().isoformat(),
        }
        folder = root / quote(environment, safe="")
        self._secure(folder)
        write_private(folder / (quote(name, safe="") + SUFFIX), json.dumps(record).encode())

    def remove(self, environment: str, name: str) -> None:
        try:
            self.file(environment, name).unlink()
        except FileNotFoundError:
            raise SecretNotFoundError(
                f"secret {name!r} not found in the local vault for {environment!r}"
            ) from None

    def names(self, environment: str) -> list[str]:
        folder = self.root / quote(environment, safe="")
        if not folder.is_dir():
            return []
        return sorted(unquote(p.name[: -len(SUFFIX)]) for p in folder.glob("*" + SUFFIX))

    def environments(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(unquote(p.name) for p in self.root.iterdir() if p.is_dir())

    # --- rotation -------------------------------------------------------------------

    def rotate(self, new_key_text: str | None) -> int:
        """Re-encrypt every secret under a new key; returns how many. `new_key_text` is the
        new key or passphrase; None means a random key kept in the OS keyring (only when
        the current key is there too)."""
        old = self.meta()
        if old is None:
            raise SecretError("the local vault is empty: there is no key to rotate")
        current = self.key()
        if new_key_text is None and current.source != "keyring":
            raise SecretError(
                f"the vault's key comes from {keys.MASTER_KEY_ENV}: set "
                f"{keys.NEW_MASTER_KEY_ENV} to the new key, rotate, then use it as "
                f"{keys.MASTER_KEY_ENV}"
            )
        values = {
            (environment, name): self.read(environment, name)
            for environment in self.environments()
            for name in self.names(environment)
        }
        new_key, meta = self.new_meta(new_key_text)
        staging = self.root.with_name(self.root.name + ".rotating")
        shutil.rmtree(staging, ignore_errors=True)
        self._secure(staging)
        write_private(staging / "vault.json", json.dumps(meta, indent=2).encode())
        for (environment, name), value in values.items():
            self._write_with(staging, new_key, str(meta["vault_id"]), environment, name, value)
        retired = self.root.with_name(self.root.name + ".retired")
        shutil.rmtree(retired, ignore_errors=True)
        self.root.rename(retired)
        staging.rename(self.root)
        shutil.rmtree(retired, ignore_errors=True)
        if current.source == "keyring":
            keys.keyring_delete(str(old["vault_id"]))
        self._key = new_key
        return len(values)

    def _recover(self) -> None:
        """Finish a rotation interrupted between its two renames."""
        staging = self.root.with_name(self.root.name + ".rotating")
        if not self.root.exists() and (staging / "vault.json").is_file():
            staging.rename(self.root)

    @staticmethod
    def _secure(folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder.chmod(0o700)


class LocalSecretBackend(SecretBackend):
    """Secrets of one environment in the project's local vault."""

    name = "local"

    def __init__(self, scope: BackendScope) -> None:
        super().__init__(scope)
        raw = str(scope.settings.get("path", "")) or str(scope.home / "secrets")
        path = Path(raw)
        root = path if path.is_absolute() else (scope.base_dir / path)
        self.vault = LocalVault(root.resolve(), dict(scope.env))

    def get(self, name: str) -> SecretStr:
        return self.vault.read(self.scope.environment, check_name(name))

    def set(self, name: str, value: SecretStr) -> None:
        self.vault.write(self.scope.environment, check_name(name), value)

    def delete(self, name: str) -> None:
        self.vault.remove(self.scope.environment, check_name(name))

    def names(self) -> list[str]:
        return self.vault.names(self.scope.environment)
