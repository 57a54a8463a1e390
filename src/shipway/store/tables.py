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

# Captured log lines (secrets already redacted) and how far the agent has read each
# followed file. `time` is Unix seconds (the line's own time, else when it was read);
# `severity` orders levels (0 unknown, 10 debug ... 50 fatal) for "this level and above".
# NOTE: full-text search lives outside this metadata, created by migration 0007: the
# SQLite FTS5 table `log_lines_fts` (external content: LogRepository.append indexes new
# rows, triggers handle deletes) and the PostgreSQL GIN index `log_lines_fts_gin` on
# to_tsvector('simple', message).
log_lines = sa.Table(
    "log_lines",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("project", sa.String(200), nullable=False),
    sa.Column("environment", sa.String(200), nullable=False),
    sa.Column("service", sa.String(200)),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("release", sa.String(200)),
    sa.Column("level", sa.String(16)),
    sa.Column("severity", sa.SmallInteger, nullable=False),
    sa.Column("time", sa.Float, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("fields", Json, nullable=False),
    sa.Index("ix_log_lines_env_time", "project", "environment", "time"),
    sqlite_autoincrement=True,
)

log_positions = sa.Table(
    "log_positions",
    metadata,
    sa.Column("key", sa.String(600), primary_key=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("identity", sa.String(64), nullable=False),
    sa.Column("offset", sa.BigInteger, nullable=False),
    sa.Column("head", sa.String(64), nullable=False),
    sa.Column("head_len", sa.Integer, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

# Metrics (monitor/metrics): one row per distinct series (name + label set) of an
# environment, raw samples (integer milliseconds, WITHOUT ROWID on SQLite so a row is just
# its key and value), older raw samples packed in hourly chunks, 1-minute rollups kept
# longer, and the rollup and compaction watermarks.
metric_series = sa.Table(
    "metric_series",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(64), nullable=False),
    sa.Column("project", sa.String(200), nullable=False),
    sa.Column("environment", sa.String(200), nullable=False),
    sa.Column("name", sa.String(400), nullable=False),
    sa.Column("labels", sa.Text, nullable=False),
    sa.UniqueConstraint("key", name="uq_metric_series_key"),
    sa.Index("ix_metric_series_name", "project", "environment", "name"),
    sqlite_autoincrement=True,
)

metric_samples = sa.Table(
    "metric_samples",
    metadata,
    sa.Column("series_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("ts", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("value", sa.Float),
    sqlite_with_rowid=False,
)

# Raw samples older than an hour, packed per series and hour: little-endian int64 times
# and float64 values (NaN kept), so a long range reads a few rows instead of thousands.
metric_chunks = sa.Table(
    "metric_chunks",
    metadata,
    sa.Column("series_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("start_ts", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("end_ts", sa.BigInteger, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("ts", sa.LargeBinary, nullable=False),
    sa.Column("vals", sa.LargeBinary, nullable=False),
    sqlite_with_rowid=False,
)

metric_rollups = sa.Table(
    "metric_rollups",
    metadata,
    sa.Column("series_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("ts", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("last_ts", sa.BigInteger, nullable=False),
    sa.Column("last", sa.Float),
    sa.Column("min", sa.Float),
    sa.Column("max", sa.Float),
    sa.Column("sum", sa.Float),
    sa.Column("count", sa.Integer, nullable=False),
    sqlite_with_rowid=False,
)

metric_marks = sa.Table(
    "metric_marks",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

# Alerts (monitor/alerts): one row per alert instance (rule + label set) with its state,
# silences, the notification log per group and receiver (Alertmanager's nflog), and every
# notification attempt. No secret values: attempts name the channel, never its URL.
alert_instances = sa.Table(
    "alert_instances",
    metadata,
    sa.Column("project", sa.String(200), primary_key=True),
    sa.Column("environment", sa.String(200), primary_key=True),
    sa.Column("rule", sa.String(200), primary_key=True),
    sa.Column("fingerprint", sa.String(16), primary_key=True),
    sa.Column("labels", Json, nullable=False),
    sa.Column("annotations", Json, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("value", sa.Float),
    sa.Column("active_at", UtcDateTime, primary_key=True),
    sa.Column("fired_at", UtcDateTime),
    sa.Column("resolved_at", UtcDateTime),
    sa.Column("evaluated_at", UtcDateTime, nullable=False),
    sa.Index("ix_alert_instances_state", "project", "environment", "state"),
)

alert_silences = sa.Table(
    "alert_silences",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("project", sa.String(200), nullable=False),
    sa.Column("environment", sa.String(200), nullable=False),
    sa.Column("matchers", Json, nullable=False),
    sa.Column("starts_at", UtcDateTime, nullable=False),
    sa.Column("ends_at", UtcDateTime, nullable=False),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Index("ix_alert_silences_env", "project", "environment", "ends_at"),
)

alert_groups = sa.Table(
    "alert_groups",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("project", sa.String(200), nullable=False),
    sa.Column("environment", sa.String(200), nullable=False),
    sa.Column("receiver", sa.String(200), nullable=False),
    sa.Column("group_key", sa.Text, nullable=False),
    sa.Column("group_labels", Json, nullable=False),
    sa.Column("next_flush_at", UtcDateTime),
    sa.Column("flushed_at", UtcDateTime),
    sa.Column("notified_at", UtcDateTime),
    sa.Column("firing", Json, nullable=False),
    sa.Column("resolved", Json, nullable=False),
    sa.Index("ix_alert_groups_env", "project", "environment"),
)

notification_attempts = sa.Table(
    "notification_attempts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("project", sa.String(200), nullable=False),
    sa.Column("environment", sa.String(200), nullable=False),
    sa.Column("channel", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("group_key", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("alerts", sa.Integer, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("duration_ms", sa.Float, nullable=False),
    sa.Index("ix_notification_attempts_env", "project", "environment", "id"),
    sqlite_autoincrement=True,
)

# Anomalies the agent found in watched series (one row per rule, detector, series and
# point), and the verdicts of post-release analyses (the observe stage), with every
# metric's verdict. `at` is Unix seconds, like the metric samples it points at.
anomalies = sa.Table(
    "anomalies",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("project", sa.String(200), nullable=False),
    sa.Column("environment", sa.String(200), nullable=False),
    sa.Column("rule", sa.String(200), nullable=False),
    sa.Column("detector", sa.String(32), nullable=False),
    sa.Column("series_key", sa.String(64), nullable=False),
    sa.Column("labels", Json, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("expected", sa.Float, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("deployment_id", sa.String(64)),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint(
        "project", "environment", "rule", "detector", "series_key", "at", name="uq_anomalies_point"
    ),
    sa.Index("ix_anomalies_env_at", "project", "environment", "at"),
    sqlite_autoincrement=True,
)

analyses = sa.Table(
    "analyses",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("deployment_id", sa.String(64), _deployment_fk(), nullable=False),
    sa.Column("project", sa.String(200), nullable=False),
    sa.Column("environment", sa.String(200), nullable=False),
    sa.Column("release_id", sa.String(200), nullable=False),
    sa.Column("baseline_release_id", sa.String(200)),
    sa.Column("verdict", sa.String(16), nullable=False),
    sa.Column("score", sa.Float),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("metrics", Json, nullable=False),
    sa.Column("windows", Json, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Index("ix_analyses_env", "project", "environment", "id"),
    sa.Index("ix_analyses_deployment", "deployment_id"),
    sqlite_autoincrement=True,
)
