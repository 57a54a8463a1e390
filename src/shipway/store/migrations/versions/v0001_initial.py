"""Initial state store schema: deployments, events, stage runs, compensations, leases and
environment blocks.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# NOTE: types are spelled out here rather than imported from tables.py, so this revision
# keeps building the same schema when tables.py moves on.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)


def _deployment_fk() -> sa.ForeignKey:
    return sa.ForeignKey("deployments.id", ondelete="CASCADE")


def _create_deployments() -> None:
    op.create_table(
        "deployments",
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
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("started_at", Timestamp),
        sa.Column("finished_at", Timestamp),
        sa.Column("error", sa.Text),
        sa.Column("context", Json, nullable=False),
        sa.Column("rollback_from", sa.String(64)),
        sa.Column("force", sa.Boolean, nullable=False),
        sa.Column("wait_seconds", sa.Float),
        sa.Column("cancel_requested", sa.Boolean, nullable=False),
        sa.Column("approved_by", sa.String(200)),
        sa.Column("approved_at", Timestamp),
        sa.Column("executor_id", sa.String(200)),
    )
    op.create_index(
        "ix_deployments_env_created", "deployments", ["project", "environment", "created_at"]
    )
    op.create_index("ix_deployments_created", "deployments", ["created_at"])


def _create_events() -> None:
    op.create_table(
        "events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("deployment_id", sa.String(64), _deployment_fk(), nullable=False),
        sa.Column("correlation_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("stage", sa.String(64)),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("data", Json, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("dedupe_key", sa.String(200)),
        sa.UniqueConstraint("deployment_id", "dedupe_key", name="uq_events_dedupe"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_events_deployment_id", "events", ["deployment_id", "id"])


def _create_stage_runs_and_compensations() -> None:
    op.create_table(
        "stage_runs",
        sa.Column("deployment_id", sa.String(64), _deployment_fk(), primary_key=True),
        sa.Column("stage", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("started_at", Timestamp),
        sa.Column("finished_at", Timestamp),
        sa.Column("error", sa.Text),
        sa.Column("outputs", Json, nullable=False),
    )
    op.create_table(
        "compensations",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("deployment_id", sa.String(64), _deployment_fk(), nullable=False),
        sa.Column("stage", sa.String(64), nullable=False),
        sa.Column("data", Json, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("registered_at", Timestamp, nullable=False),
        sa.Column("finished_at", Timestamp),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_compensations_deployment_id", "compensations", ["deployment_id", "id"])


def _create_leases_and_blocks() -> None:
    op.create_table(
        "leases",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(200)),
        sa.Column("acquired_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
    )
    op.create_index("ix_leases_owner", "leases", ["owner"])
    op.create_table(
        "environment_blocks",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("digest", sa.String(128), nullable=False),
        sa.Column("deployment_id", sa.String(64)),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
    )


def upgrade() -> None:
    _create_deployments()
    _create_events()
    _create_stage_runs_and_compensations()
    _create_leases_and_blocks()


def downgrade() -> None:
    op.drop_table("environment_blocks")
    op.drop_table("leases")
    op.drop_table("compensations")
    op.drop_table("stage_runs")
    op.drop_table("events")
    op.drop_table("deployments")
