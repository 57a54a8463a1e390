"""Metric series and samples, raw and rolled up.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "metric_series",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("project", sa.String(200), nullable=False),
        sa.Column("environment", sa.String(200), nullable=False),
        sa.Column("name", sa.String(400), nullable=False),
        sa.Column("labels", sa.Text, nullable=False),
        sa.UniqueConstraint("key", name="uq_metric_series_key"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_metric_series_name", "metric_series", ["project", "environment", "name"])
    op.create_table(
        "metric_samples",
        sa.Column("series_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("ts", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("value", sa.Float),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "metric_chunks",
        sa.Column("series_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("start_ts", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("end_ts", sa.BigInteger, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("ts", sa.LargeBinary, nullable=False),
        sa.Column("vals", sa.LargeBinary, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "metric_rollups",
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
    op.create_table(
        "metric_marks",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("metric_marks")
    op.drop_table("metric_rollups")
    op.drop_table("metric_chunks")
    op.drop_table("metric_samples")
    op.drop_index("ix_metric_series_name", "metric_series")
    op.drop_table("metric_series")
