"""Log lines with full-text search, and the agent's read positions in followed files.

Full-text search is not in `tables.py` (SQLAlchemy has no FTS5 or expression-GIN model):
on SQLite an external-content FTS5 table, on PostgreSQL a GIN index on
to_tsvector('simple', message). SQLite's index gets new rows from `LogRepository.append`,
one INSERT ... SELECT per batch in the batch's transaction (five times faster than a
per-row trigger, measured); deletes and updates reach it through triggers.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

Timestamp = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_SQLITE_FTS = (
    "CREATE VIRTUAL TABLE log_lines_fts USING fts5("
    "message, content='log_lines', content_rowid='id')",
    "CREATE TRIGGER log_lines_fts_delete AFTER DELETE ON log_lines BEGIN "
    "INSERT INTO log_lines_fts(log_lines_fts, rowid, message) "
    "VALUES ('delete', old.id, old.message); END",
    "CREATE TRIGGER log_lines_fts_update AFTER UPDATE OF message ON log_lines BEGIN "
    "INSERT INTO log_lines_fts(log_lines_fts, rowid, message) "
    "VALUES ('delete', old.id, old.message); "
    "INSERT INTO log_lines_fts(rowid, message) VALUES (new.id, new.message); END",
)


def upgrade() -> None:
    op.create_table(
        "log_lines",
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
        sqlite_autoincrement=True,
    )
    op.create_index("ix_log_lines_env_time", "log_lines", ["project", "environment", "time"])
    op.create_table(
        "log_positions",
        sa.Column("key", sa.String(600), primary_key=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("identity", sa.String(64), nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
        sa.Column("head_len", sa.Integer, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
    )
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_FTS:
            op.execute(statement)
    else:
        op.execute(
            "CREATE INDEX log_lines_fts_gin ON log_lines USING gin (to_tsvector('simple', message))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS log_lines_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS log_lines_fts")
    else:
        op.execute("DROP INDEX IF EXISTS log_lines_fts_gin")
    op.drop_table("log_positions")
    op.drop_index("ix_log_lines_env_time", "log_lines")
    op.drop_table("log_lines")
