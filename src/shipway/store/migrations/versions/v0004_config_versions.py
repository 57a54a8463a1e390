"""Configuration versions (content-addressed) and each environment's history of them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

Timestamp = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "config_versions",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("content", Json, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
    )
    op.create_table(
        "config_history",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("project", sa.String(200), nullable=False),
        sa.Column("environment", sa.String(200), nullable=False),
        sa.Column("version", sa.String(80)),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("deployment_id", sa.String(64)),
        sa.Column("overrides", Json, nullable=False),
        sa.Column("user", sa.String(200), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_config_history_env", "config_history", ["project", "environment", "id"])
    op.create_index("ix_config_history_deployment", "config_history", ["deployment_id"])


def downgrade() -> None:
    op.drop_index("ix_config_history_deployment", "config_history")
    op.drop_index("ix_config_history_env", "config_history")
    op.drop_table("config_history")
    op.drop_table("config_versions")
