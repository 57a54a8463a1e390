"""Migrations: to head on an empty database, idempotent, reversible, and safe when several
processes open a fresh store at once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from shipway.errors import StoreError
from shipway.store import Store, open_store, schema
from shipway.store.tables import metadata

from .conftest import new_deployment, run_workers

TABLES = {
    "alembic_version",
    "deployments",
    "releases",
    "service_processes",
    "events",
    "stage_runs",
    "compensations",
    "leases",
    "environment_blocks",
    "executors",
    "config_versions",
    "config_history",
    "resources",
    "log_lines",
    "log_positions",
    "metric_series",
    "metric_samples",
    "metric_chunks",
    "metric_rollups",
    "metric_marks",
    "alert_instances",
    "alert_silences",
    "alert_groups",
    "notification_attempts",
    "anomalies",
    "analyses",
}
# Full-text search objects made by raw DDL in migration 0007, outside tables.py: the SQLite
# FTS5 table `log_lines_fts` (with its shadow tables) and the PostgreSQL `log_lines_fts_gin`.
FTS_PREFIX = "log_lines_fts"


def _not_fts(name: str | None, type_: str, parent_names: object) -> bool:
    return not (name or "").startswith(FTS_PREFIX)


def _tables(store: Store) -> set[str]:
    with store.db.read() as conn:
        names = set(sa.inspect(conn).get_table_names())
    return {name for name in names if not name.startswith(FTS_PREFIX)}


def test_open_migrates_an_empty_database_to_head(store: Store) -> None:
    assert _tables(store) == TABLES
    assert schema.current_revision(store.db) == schema.head_revision()


def test_migrated_schema_matches_the_tables_module(store: Store) -> None:
    with store.db.read() as conn:
        differences = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True, "include_name": _not_fts}),
            metadata,
        )
    assert differences == []


def test_opening_twice_is_a_no_op(state_url: str) -> None:
    with open_store(state_url) as first:
        new_deployment(first)
        first.events.append("dep-000001", "c", "CREATED")
    with open_store(state_url) as second:
        assert schema.current_revision(second.db) == schema.head_revision()
        assert second.events.last_id() == 1
        assert second.deployments.get("dep-000001").project == "shop"


def test_downgrade_to_base_then_upgrade_again(store: Store) -> None:
    new_deployment(store)
    schema.downgrade(store.db, "base")
    assert _tables(store) == {"alembic_version"}
    assert schema.current_revision(store.db) is None
    schema.upgrade(store.db)
    assert _tables(store) == TABLES
    assert store.deployments.list() == []


def test_unknown_revision_is_a_store_error(store: Store) -> None:
    with pytest.raises(StoreError, match="downgrade failed"):
        schema.downgrade(store.db, "nonexistent")


def test_processes_opening_a_fresh_store_at_once_all_succeed(state_url: str) -> None:
    reports = run_workers([["open", state_url] for _ in range(3)])
    assert [r["ok"] for r in reports] == [True, True, True]
    with open_store(state_url) as store:
        assert _tables(store) == TABLES
        with store.db.read() as conn:
            versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
        assert [v[0] for v in versions] == [schema.head_revision()]


def test_the_quick_head_agrees_with_alembic() -> None:
    assert schema.newest_script_revision() == schema.head_revision()
