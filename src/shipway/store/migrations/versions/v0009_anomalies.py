"""Anomalies found in metric series, and post-release analyses.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

Timestamp = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "anomalies",
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
        sa.Column("created_at", Timestamp, nullable=False),
        sa.UniqueConstraint(
            "project",
            "environment",
            "rule",
            "detector",
            "series_key",
            "at",
            name="uq_anomalies_point",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_anomalies_env_at", "anomalies", ["project", "environment", "at"])
    op.create_table(
        "analyses",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "deployment_id",
            sa.String(64),
            sa.ForeignKey("deployments.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("project", sa.String(200), nullable=False),
        sa.Column("environment", sa.String(200), nullable=False),
        sa.Column("release_id", sa.String(200), nullable=False),
        sa.Column("baseline_release_id", sa.String(200)),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("metrics", Json, nullable=False),
        sa.Column("windows", Json, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_analyses_env", "analyses", ["project", "environment", "id"])
    op.create_index("ix_analyses_deployment", "analyses", ["deployment_id"])


def downgrade() -> None:
    op.drop_index("ix_analyses_deployment", "analyses")
    op.drop_index("ix_analyses_env", "analyses")
    op.drop_table("analyses")
    op.drop_index("ix_anomalies_env_at", "anomalies")
    op.drop_table("anomalies")
