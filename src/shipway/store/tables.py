"""The state store's schema as SQLAlchemy Core tables, shared by SQLite and PostgreSQL.

This is the schema the code expects; the Alembic scripts in `migrations/versions/` build
it (a test checks that the two agree). Column types that differ per database are chosen
here, once: BIGINT ids on PostgreSQL that are rowid aliases on SQLite, JSONB on
PostgreSQL, and UTC timestamps that come back timezone-aware everywhere.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

metadata = sa.MetaData()


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware.

    SQLite has no time zone type: values are stored as naive UTC text, whose lexical order
    is their time order, so `expires_at < :now` works in SQL on both databases.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store only keeps aware UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# NOTE: a rowid alias on SQLite (INTEGER PRIMARY KEY), BIGSERIAL/identity on PostgreSQL.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _deployment_fk() -> sa.ForeignKey:
    return sa.ForeignKey("deployments.id", ondelete="CASCADE")


deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("project", sa.String(200), nullable=False),
    sa.Column("environment", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("manifest_path", sa.Text, nullable=False),
    sa.Column("manifest_digest", sa.String(128), nullable=False),
    sa.Column("manifest", Json, nullable=False),
    sa.Column("pipeline", Json, nullable=False),
    sa.Column("correlation_id", sa.String(64), nullable=False),
    sa.Column("user", sa.String(200), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("started_at", UtcDateTime),
    sa.Column("finished_at", UtcDateTime),
    sa.Column("error", sa.Text),
    sa.Column("context", Json, nullable=False),
    sa.Column("rollback_from", sa.String(64)),
    sa.Column("force", sa.Boolean, nullable=False),
    sa.Column("wait_seconds", sa.Float),
    sa.Column("cancel_requested", sa.Boolean, nullable=False),
    sa.Column("approved_by", sa.String(200)),
    sa.Column("approved_at", UtcDateTime),
    sa.Column("executor_id", sa.String(200)),
    sa.Index("ix_deployments_env_created", "project", "environment", "created_at"),
    sa.Index("ix_deployments_created", "created_at"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("deployment_id", sa.String(64), _deployment_fk(), nullable=False),
    sa.Column("correlation_id", sa.String(64), nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("stage", sa.String(64)),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("data", Json, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("dedupe_key", sa.String(200)),
    sa.UniqueConstraint("deployment_id", "dedupe_key", name="uq_events_dedupe"),
    sa.Index("ix_events_deployment_id", "deployment_id", "id"),
    # NOTE: AUTOINCREMENT keeps ids strictly increasing even if rows are ever pruned,
    # which is what cursor readers rely on.
    sqlite_autoincrement=True,
)

stage_runs = sa.Table(
    "stage_runs",
    metadata,
    sa.Column("deployment_id", sa.String(64), _deployment_fk(), primary_key=True),
    sa.Column("stage", sa.String(64), primary_key=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("started_at", UtcDateTime),
    sa.Column("finished_at", UtcDateTime),
    sa.Column("error", sa.Text),
    sa.Column("outputs", Json, nullable=False),
)

compensations = sa.Table(
    "compensations",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("deployment_id", sa.String(64), _deployment_fk(), nullable=False),
    sa.Column("stage", sa.String(64), nullable=False),
    sa.Column("data", Json, nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("registered_at", UtcDateTime, nullable=False),
    sa.Column("finished_at", UtcDateTime),
    sa.Index("ix_compensations_deployment_id", "deployment_id", "id"),
    sqlite_autoincrement=True,
)

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("key", sa.String(400), primary_key=True),
    sa.Column("holder", sa.String(64), nullable=False),
    sa.Column("owner", sa.String(200)),
    sa.Column("acquired_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Index("ix_leases_owner", "owner"),
)

environment_blocks = sa.Table(
    "environment_blocks",
    metadata,
    sa.Column("key", sa.String(400), primary_key=True),
    sa.Column("digest", sa.String(128), nullable=False),
    sa.Column("deployment_id", sa.String(64)),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

executors = sa.Table(
    "executors",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("heartbeat_at", UtcDateTime, nullable=False),
)

releases = sa.Table(
    "releases",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("project", sa.String(200), nullable=False),
    sa.Column("environment", sa.String(200), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("deployment_id", sa.String(64), nullable=False),
    sa.Column("manifest_digest", sa.String(128), nullable=False),
    sa.Column("config_version", sa.String(128)),
    sa.Column("artifact_digest", sa.String(128), nullable=False),
    sa.Column("services", Json, nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("executor_id", sa.String(200), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("activated_at", UtcDateTime),
    sa.Column("error", sa.Text),
    sa.UniqueConstraint("project", "environment", "number", name="uq_releases_number"),
    sa.Index("ix_releases_status", "executor_id", "status"),
)

service_processes = sa.Table(
    "service_processes",
    metadata,
    sa.Column("name", sa.String(400), primary_key=True),
    sa.Column("project", sa.String(200), nullable=False),
    sa.Column("environment", sa.String(200), nullable=False),
    sa.Column("service", sa.String(200), nullable=False),
    sa.Column("release_id", sa.String(200), nullable=False),
    sa.Column("executor_id", sa.String(200), nullable=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("pid", sa.Integer),
    sa.Column("restarts", sa.Integer, nullable=False),
    sa.Column("consecutive_crashes", sa.Integer, nullable=False),
    sa.Column("last_exit", sa.Text),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Index("ix_service_processes_env", "project", "environment"),
)

# Immutable configuration versions, keyed by the digest of their content (secrets are
# references in it, never values), and which version each environment had when.
config_versions = sa.Table(
    "config_versions",
    metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("content", Json, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

config_history = sa.Table(
    "config_history",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("project", sa.String(200), nullable=False),
    sa.Column("environment", sa.String(200), nullable=False),
    sa.Column("version", sa.String(80)),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("deployment_id", sa.String(64)),
    sa.Column("overrides", Json, nullable=False),
    sa.Column("user", sa.String(200), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Index("ix_config_history_env", "project", "environment", "id"),
    sa.Index("ix_config_history_deployment", "deployment_id"),
    sqlite_autoincrement=True,
)


# Provisioned resources: what each environment's resources were last applied with and
# what they expose. Attributes hold `${secret:...}` references, never secret values.
resources = sa.Table(
    "resources",
    metadata,
    sa.Column("project", sa.String(200), primary_key=True),
    sa.Column("environment", sa.String(200), primary_key=True),
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("resource_id", sa.Text, nullable=False),
    sa.Column("attributes", Json, nullable=False),
    sa.Column("outputs", Json, nullable=False),
    sa.Column("dependencies", Json, nullable=False),
    sa.Column("prevent_destroy", sa.Boolean, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("updated_by", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("serial", sa.Integer, nullable=False),
)
