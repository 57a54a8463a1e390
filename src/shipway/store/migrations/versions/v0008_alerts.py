"""Alert states, silences and notification attempts.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

Timestamp = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alert_instances",
        sa.Column("project", sa.String(200), primary_key=True),
        sa.Column("environment", sa.String(200), primary_key=True),
        sa.Column("rule", sa.String(200), primary_key=True),
        sa.Column("fingerprint", sa.String(16), primary_key=True),
        sa.Column("labels", Json, nullable=False),
        sa.Column("annotations", Json, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("active_at", Timestamp, primary_key=True),
        sa.Column("fired_at", Timestamp),
        sa.Column("resolved_at", Timestamp),
        sa.Column("evaluated_at", Timestamp, nullable=False),
    )
    op.create_index(
        "ix_alert_instances_state", "alert_instances", ["project", "environment", "state"]
    )
    op.create_table(
        "alert_silences",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project", sa.String(200), nullable=False),
        sa.Column("environment", sa.String(200), nullable=False),
        sa.Column("matchers", Json, nullable=False),
        sa.Column("starts_at", Timestamp, nullable=False),
        sa.Column("ends_at", Timestamp, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
    )
    op.create_index(
        "ix_alert_silences_env", "alert_silences", ["project", "environment", "ends_at"]
    )
    op.create_table(
        "alert_groups",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("project", sa.String(200), nullable=False),
        sa.Column("environment", sa.String(200), nullable=False),
        sa.Column("receiver", sa.String(200), nullable=False),
        sa.Column("group_key", sa.Text, nullable=False),
        sa.Column("group_labels", Json, nullable=False),
        sa.Column("next_flush_at", Timestamp),
        sa.Column("flushed_at", Timestamp),
        sa.Column("notified_at", Timestamp),
        sa.Column("firing", Json, nullable=False),
        sa.Column("resolved", Json, nullable=False),
    )
    op.create_index("ix_alert_groups_env", "alert_groups", ["project", "environment"])
    op.create_table(
        "notification_attempts",
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
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_notification_attempts_env", "notification_attempts", ["project", "environment", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_notification_attempts_env", "notification_attempts")
    op.drop_table("notification_attempts")
    op.drop_index("ix_alert_groups_env", "alert_groups")
    op.drop_table("alert_groups")
    op.drop_index("ix_alert_silences_env", "alert_silences")
    op.drop_table("alert_silences")
    op.drop_index("ix_alert_instances_state", "alert_instances")
    op.drop_table("alert_instances")
