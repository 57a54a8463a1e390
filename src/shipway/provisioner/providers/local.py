"""Resources on this machine: `local.directory` and `local.sqlite`.

Relative paths start at the manifest's folder and may not leave it; an absolute path is
taken as written (the operator asked for that place).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import sqlite3
import stat
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from shipway.provisioner.providers.interface import (
    Observed,
    Provider,
    ProviderContext,
    ProviderError,
    ProviderSettings,
)

_MODE_PATTERN = r"^0?[0-7]{3,4}$"


def confined(ctx: ProviderContext, path: str) -> Path:
    """`path` resolved: relative to the manifest's folder and confined to it."""
    given = Path(path)
    if given.is_absolute():
        return Path(os.path.normpath(given))
    root = ctx.base_dir.resolve()
    target = (root / given).resolve()
    if not target.is_relative_to(root):
        raise ProviderError(f"path {path!r} leaves the manifest's folder {root}")
    return target


def _uid(owner: str) -> int:
    if owner.isdigit():
        return int(owner)
    try:
        return pwd.getpwnam(owner).pw_uid
    except KeyError as e:
        raise ProviderError(f"owner {owner!r}: no such user") from e


def _owner_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _same_owner(wanted: str, uid: int) -> bool:
    return wanted == str(uid) or wanted == _owner_name(uid)


class DirectorySettings(ProviderSettings):
    path: str = Field(min_length=1, description="The folder; relative to the manifest's folder.")
    mode: str = Field("0755", pattern=_MODE_PATTERN, description="Permission bits, e.g. 0750.")
    owner: str | None = Field(None, description="User name or uid that owns the folder.")

    @field_validator("mode")
    @classmethod
    def _normalise_mode(cls, value: str) -> str:
        return "0" + value[-3:] if len(value) <= 4 else value


class LocalDirectoryProvider(Provider):
    """A folder with a mode and an owner."""

    type = "local.directory"
    Settings = DirectorySettings
    replace_on = frozenset({"path"})

    def resource_id(self, name: str, settings: ProviderSettings) -> str:
        assert isinstance(settings, DirectorySettings)
        return settings.path

    def desired(self, settings: ProviderSettings) -> dict[str, Any]:
        assert isinstance(settings, DirectorySettings)
        wanted: dict[str, Any] = {"path": settings.path, "mode": settings.mode}
        if settings.owner is not None:
            wanted["owner"] = settings.owner
        return wanted

    def read(
        self, ctx: ProviderContext, settings: ProviderSettings, resource_id: str
    ) -> Observed | None:
        assert isinstance(settings, DirectorySettings)
        path = confined(ctx, resource_id)
        try:
            info = path.stat()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise ProviderError(f"cannot read {path}: {e.strerror or e}") from e
        if not stat.S_ISDIR(info.st_mode):
            raise ProviderError(f"{path} exists and is not a directory")
        attributes: dict[str, Any] = {
            "path": resource_id,
            "mode": f"0{stat.S_IMODE(info.st_mode):03o}",
        }
        if settings.owner is not None:
            owner = settings.owner if _same_owner(settings.owner, info.st_uid) else None
            attributes["owner"] = owner or _owner_name(info.st_uid)
        outputs = {"path": str(path), "mode": attributes["mode"], "owner": _owner_name(info.st_uid)}
        return Observed(resource_id, attributes, outputs)

    def create(self, ctx: ProviderContext, settings: ProviderSettings) -> Observed:
        assert isinstance(settings, DirectorySettings)
        path = confined(ctx, settings.path)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ProviderError(f"cannot create {path}: {e.strerror or e}") from e
        return self._settle(ctx, settings, path)

    def update(
        self,
        ctx: ProviderContext,
        settings: ProviderSettings,
        current: Observed,
        changes: Any,
    ) -> Observed:
        assert isinstance(settings, DirectorySettings)
        return self._settle(ctx, settings, confined(ctx, settings.path))

    def _settle(self, ctx: ProviderContext, settings: DirectorySettings, path: Path) -> Observed:
        try:
            path.chmod(int(settings.mode, 8))
            if settings.owner is not None:
                os.chown(path, _uid(settings.owner), -1)
        except OSError as e:
            raise ProviderError(f"cannot set mode/owner of {path}: {e.strerror or e}") from e
        observed = self.read(ctx, settings, settings.path)
        if observed is None:  # pragma: no cover - removed between two calls
            raise ProviderError(f"{path} disappeared while it was being set up")
        return observed

    def delete(self, ctx: ProviderContext, settings: ProviderSettings, current: Observed) -> None:
        path = confined(ctx, current.resource_id)
        try:
            shutil.rmtree(path)
        except FileNotFoundError:
            return
        except OSError as e:
            raise ProviderError(f"cannot remove {path}: {e.strerror or e}") from e


class SqliteSettings(ProviderSettings):
    path: str = Field(min_length=1, description="The database file; relative to the manifest.")
    schema_sql: str | None = Field(
        None, alias="schema", description="SQL run once, when the database is created."
    )


class LocalSqliteProvider(Provider):
    """A SQLite database file, optionally initialised with schema SQL at creation."""

    type = "local.sqlite"
    Settings = SqliteSettings
    replace_on = frozenset({"path"})

    def resource_id(self, name: str, settings: ProviderSettings) -> str:
        assert isinstance(settings, SqliteSettings)
        return settings.path

    def desired(self, settings: ProviderSettings) -> dict[str, Any]:
        # NOTE: `schema` only runs at creation; it is not compared with the world, like a
        # Terraform attribute with `ignore_changes`.
        assert isinstance(settings, SqliteSettings)
        return {"path": settings.path}

    def read(
        self, ctx: ProviderContext, settings: ProviderSettings, resource_id: str
    ) -> Observed | None:
        path = confined(ctx, resource_id)
        if not path.exists():
            return None
        if not path.is_file():
            raise ProviderError(f"{path} exists and is not a file")
        return Observed(
            resource_id, {"path": resource_id}, {"path": str(path), "url": f"sqlite:///{path}"}
        )

    def create(self, ctx: ProviderContext, settings: ProviderSettings) -> Observed:
        assert isinstance(settings, SqliteSettings)
        path = confined(ctx, settings.path)
        existed = path.exists()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.closing(sqlite3.connect(path, timeout=ctx.timeout)) as conn:
                if settings.schema_sql:
                    conn.executescript(settings.schema_sql)
                else:
                    conn.execute("PRAGMA user_version")
                conn.commit()
        except (sqlite3.Error, OSError) as e:
            if not existed:
                path.unlink(missing_ok=True)
            raise ProviderError(f"cannot create SQLite database {path}: {e}") from e
        observed = self.read(ctx, settings, settings.path)
        assert observed is not None
        return observed

    def delete(self, ctx: ProviderContext, settings: ProviderSettings, current: Observed) -> None:
        path = confined(ctx, current.resource_id)
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            except OSError as e:
                raise ProviderError(f"cannot remove {path}{suffix}: {e.strerror or e}") from e
