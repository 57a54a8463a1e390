"""The `config_versions` and `config_history` tables: immutable, content-addressed
configuration versions, and which one each environment had, when, and why.

A version is written once and never changed (saving the same content again is a no-op);
an environment's current version is its newest history row.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from shipway.errors import InputError, NotFoundError
from shipway.store.engine import StoreEngine
from shipway.store.records import (
    CONFIG_ACTIONS,
    ConfigAction,
    ConfigHistoryRecord,
    ConfigVersionRecord,
    check_choice,
    utc_now,
)
from shipway.store.tables import config_history, config_versions

PREFIX = "sha256:"


def _version(row: sa.Row[Any]) -> ConfigVersionRecord:
    return ConfigVersionRecord(**row._mapping)


def _history(row: sa.Row[Any]) -> ConfigHistoryRecord:
    return ConfigHistoryRecord(**row._mapping)


class ConfigVersionRepository:
    """Save and find versions; record and read each environment's history."""

    def __init__(self, db: StoreEngine) -> None:
        self._db = db

    def save(self, version_id: str, content: dict[str, Any]) -> bool:
        """Store `content` under `version_id` unless it is there; True when it was new."""
        if not version_id.startswith(PREFIX):
            raise ValueError(f"version ids start with {PREFIX!r}: {version_id!r}")
        statement = (
            self._db.insert(config_versions)
            .values(id=version_id, content=content, created_at=utc_now())
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(config_versions.c.id)
        )
        with self._db.write("save config version") as conn:
            return conn.execute(statement).first() is not None

    def get(self, version_id: str) -> ConfigVersionRecord:
        with self._db.read("read config version") as conn:
            row = conn.execute(
                sa.select(config_versions).where(config_versions.c.id == version_id)
            ).first()
        if row is None:
            raise NotFoundError(f"no configuration version {version_id!r}")
        return _version(row)

    def find(self, prefix: str) -> ConfigVersionRecord:
        """The version whose id starts with `prefix` (`sha256:` optional, 6+ hex digits)."""
        wanted = prefix if prefix.startswith(PREFIX) else PREFIX + prefix
        if len(wanted) < len(PREFIX) + 6:
            raise InputError(f"version {prefix!r} is too short: give at least 6 hex digits")
        with self._db.read("find config version") as conn:
            rows = conn.execute(
                sa.select(config_versions)
                .where(config_versions.c.id.startswith(wanted, autoescape=True))
                .limit(2)
            ).all()
        if not rows:
            raise NotFoundError(f"no configuration version {prefix!r}")
        if len(rows) > 1:
            raise InputError(f"version {prefix!r} is ambiguous: give more digits")
        return _version(rows[0])

    def record(
        self,
        *,
        project: str,
        environment: str,
        version: str | None,
        action: ConfigAction,
        user: str,
        message: str = "",
        deployment_id: str | None = None,
        overrides: dict[str, Any] | None = None,
    ) -> ConfigHistoryRecord:
        """Make `version` the environment's current configuration."""
        check_choice(action, CONFIG_ACTIONS, "config action")
        values = {
            "project": project,
            "environment": environment,
            "version": version,
            "action": action,
            "deployment_id": deployment_id,
            "overrides": dict(overrides or {}),
            "user": user,
            "message": message,
            "created_at": utc_now(),
        }
        with self._db.write("record config version") as conn:
            row = conn.execute(
                config_history.insert().values(values).returning(*config_history.c)
            ).one()
        return _history(row)

    def history(
        self, project: str, environment: str, limit: int | None = None
    ) -> list[ConfigHistoryRecord]:
        """The environment's history, newest first."""
        query = (
            sa.select(config_history)
            .where(config_history.c.project == project, config_history.c.environment == environment)
            .order_by(config_history.c.id.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        with self._db.read("read config history") as conn:
            return [_history(row) for row in conn.execute(query)]

    def current(self, project: str, environment: str) -> ConfigHistoryRecord | None:
        found = self.history(project, environment, limit=1)
        return found[0] if found else None

    def applied_by(self, deployment_id: str) -> ConfigHistoryRecord | None:
        """The version a deployment's configure stage applied (its last such row)."""
        query = (
            sa.select(config_history)
            .where(
                config_history.c.deployment_id == deployment_id,
                config_history.c.action.in_(["deploy", "rollback"]),
            )
            .order_by(config_history.c.id.desc())
            .limit(1)
        )
        with self._db.read("read config history") as conn:
            row = conn.execute(query).first()
        return None if row is None else _history(row)
