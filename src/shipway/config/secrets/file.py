"""The `file` backend: one file per secret in a folder, the way container platforms mount
secrets (`/run/secrets/NAME`). `settings.path` names the folder (default `/run/secrets`;
`${environment}` allowed; relative paths start at the manifest's folder). A trailing newline
is not part of the value. Files it writes are 0600 in a 0700 folder."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from pydantic import SecretStr

from shipway.config.errors import SecretError, SecretNotFoundError
from shipway.config.secrets.interface import SecretBackend, check_name

DEFAULT_PATH = "/run/secrets"
MAX_BYTES = 1024 * 1024


class FileSecretBackend(SecretBackend):
    name = "file"

    @property
    def folder(self) -> Path:
        raw = str(self.scope.settings.get("path", DEFAULT_PATH))
        raw = raw.replace("${environment}", self.scope.environment)
        path = Path(raw)
        return path if path.is_absolute() else (self.scope.base_dir / path).resolve()

    def _file(self, name: str) -> Path:
        folder = self.folder.resolve()
        target = (folder / check_name(name)).resolve()
        if not target.is_relative_to(folder):
            raise SecretError(f"secret {name!r} leaves the secrets folder")
        return target

    def get(self, name: str) -> SecretStr:
        file = self._file(name)
        try:
            if file.stat().st_size > MAX_BYTES:
                raise SecretError(f"secret file for {name!r} is larger than {MAX_BYTES} bytes")
            data = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SecretNotFoundError(f"secret {name!r} not found in {self.folder}") from None
        except (OSError, UnicodeDecodeError) as e:
            raise SecretError(f"cannot read secret {name!r}: {type(e).__name__}") from e
        return SecretStr(data.removesuffix("\n").removesuffix("\r"))

    def set(self, name: str, value: SecretStr) -> None:
        file = self._file(name)
        file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as stream:
                stream.write(value.get_secret_value())
            tmp.replace(file)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise

    def delete(self, name: str) -> None:
        try:
            self._file(name).unlink()
        except FileNotFoundError:
            raise SecretNotFoundError(f"secret {name!r} not found in {self.folder}") from None

    def names(self) -> list[str]:
        folder = self.folder
        if not folder.is_dir():
            return []
        return sorted(
            str(p.relative_to(folder))
            for p in folder.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        )
