"""Releases of an environment's services, and the state of their processes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

Timestamp = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "releases",
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
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("activated_at", Timestamp),
        sa.Column("error", sa.Text),
        sa.UniqueConstraint("project", "environment", "number", name="uq_releases_number"),
    )
    op.create_index("ix_releases_status", "releases", ["executor_id", "status"])
    op.create_table(
        "service_processes",
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
        sa.Column("updated_at", Timestamp, nullable=False),
    )
    op.create_index("ix_service_processes_env", "service_processes", ["project", "environment"])


def downgrade() -> None:
    op.drop_index("ix_service_processes_env", "service_processes")
    op.drop_table("service_processes")
    op.drop_index("ix_releases_status", "releases")
    op.drop_table("releases")
