"""An environment's configuration history: its current version, `config set` (a new
version with overrides kept in the store) and `config rollback` (an earlier version made
current again). The configure stage writes the same history; see `stage.py`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shipway.config.errors import ConfigError
from shipway.config.layers import assignments_layer
from shipway.config.manager import ConfigurationManager
from shipway.config.origins import parse_key
from shipway.config.versions import ConfigVersion, short
from shipway.errors import InputError, NotFoundError
from shipway.store import Store
from shipway.store.records import ConfigHistoryRecord


class ConfigHistory:
    """The versions one environment of one project had, newest first."""

    def __init__(self, store: Store, project: str, environment: str) -> None:
        self.store = store
        self.project = project
        self.environment = environment

    def entries(self, limit: int | None = None) -> list[ConfigHistoryRecord]:
        return self.store.config.history(self.project, self.environment, limit)

    def current(self) -> ConfigHistoryRecord | None:
        return self.store.config.current(self.project, self.environment)

    def load(self, version_id: str) -> ConfigVersion:
        record = self.store.config.get(version_id)
        return ConfigVersion.from_content(record.id, record.content)

    def version(self, ref: str | None) -> ConfigVersion:
        """The version `ref` names (an id or a unique prefix of 6+ hex digits), or the
        current one when `ref` is None."""
        if ref is None:
            current = self.current()
            if current is None or current.version is None:
                raise NotFoundError(
                    f"{self.project}/{self.environment} has no configuration version yet: "
                    "deploy it, or use `shipway config set`"
                )
            return self.load(current.version)
        record = self.store.config.find(ref)
        return ConfigVersion.from_content(record.id, record.content)

    def set(
        self,
        manager: ConfigurationManager,
        pairs: Iterable[str],
        remove: Iterable[str],
        user: str,
    ) -> tuple[ConfigHistoryRecord, ConfigVersion]:
        """Add `key=value` overrides (and drop `remove`d ones), resolve and check the
        result, and make it the current version."""
        current = self.current()
        overrides: dict[str, Any] = dict(current.overrides) if current else {}
        pairs = list(pairs)
        layer = assignments_layer(pairs, name="config set", kind="set")
        for key in (pair.partition("=")[0].strip() for pair in pairs):
            overrides[key] = layer.lookup(parse_key(key, "config set"))
        for key in remove:
            if overrides.pop(key.strip(), _ABSENT) is _ABSENT:
                raise InputError(f"{key!r} is not overridden (overrides: {_keys(overrides)})")
        resolution = manager.resolve(overrides=overrides)
        version = resolution.version()
        self.store.config.save(version.id, version.content)
        what = ", ".join(
            [*(p.partition("=")[0].strip() for p in pairs), *(f"-{k}" for k in remove)]
        )
        record = self.store.config.record(
            project=self.project,
            environment=self.environment,
            version=version.id,
            action="set",
            overrides=overrides,
            user=user,
            message=f"set {what}",
        )
        return record, version

    def apply_live(
        self, manager: ConfigurationManager, user: str
    ) -> tuple[ConfigHistoryRecord, ConfigVersion]:
        """Resolve the layers now (with the overrides in force) and make the result the
        current version, to be pushed to running services."""
        current = self.current()
        overrides: dict[str, Any] = dict(current.overrides) if current else {}
        version = manager.resolve(overrides=overrides).version()
        self.store.config.save(version.id, version.content)
        record = self.store.config.record(
            project=self.project,
            environment=self.environment,
            version=version.id,
            action="live",
            overrides=overrides,
            user=user,
            message=f"applied live over {short(current.version if current else None)}",
        )
        return record, version

    def rollback(self, to: str | None, user: str) -> tuple[ConfigHistoryRecord, ConfigVersion]:
        """Make an earlier version current: `to`, or the one before the current one."""
        entries = self.entries()
        if not entries or entries[0].version is None:
            raise InputError(f"{self.project}/{self.environment} has no configuration to roll back")
        current = entries[0]
        if to is None:
            earlier = next(
                (e for e in entries[1:] if e.version and e.version != current.version), None
            )
            if earlier is None:
                raise InputError(
                    f"{self.project}/{self.environment} has no earlier configuration version"
                )
            target = self.load(str(earlier.version))
        else:
            target = self.version(to)
            if target.id == current.version:
                raise InputError(f"version {short(target.id)} is already the current one")
        # The overrides in force when the target version was last current go back too.
        source = next((e for e in entries if e.version == target.id), None)
        if source is None:
            raise ConfigError(
                f"version {short(target.id)} was never current for {self.environment}",
                path="--to",
            )
        record = self.store.config.record(
            project=self.project,
            environment=self.environment,
            version=target.id,
            action="rollback",
            overrides=dict(source.overrides),
            user=user,
            message=f"rollback from {short(current.version)} to {short(target.id)}",
        )
        return record, target


_ABSENT = object()


def _keys(overrides: dict[str, Any]) -> str:
    return ", ".join(sorted(overrides)) or "none"
