"""Opening the store: URLs, SQLite settings, transactions, and errors at the edge."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from shipway.errors import StoreError
from shipway.store import Store, open_store
from shipway.store.engine import mask_url, normalise_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:pw@db:5432/x", "postgresql+psycopg://u:pw@db:5432/x"),
        ("postgres://u:pw@db/x?sslmode=require", "postgresql+psycopg://u:pw@db/x?sslmode=require"),
        ("postgresql+psycopg://u@db/x", "postgresql+psycopg://u@db/x"),
        ("sqlite:///.shipway/state.db", "sqlite+pysqlite:///.shipway/state.db"),
    ],
)
def test_urls_are_normalised(url: str, expected: str) -> None:
    assert normalise_url(url).render_as_string(hide_password=False) == expected


def test_passwords_are_masked() -> None:
    assert mask_url("postgresql://me:s3cr@t!@db:5432/x") == "postgresql://me:***@db:5432/x"
    assert mask_url("postgresql://me@db/x") == "postgresql://me@db/x"
    assert mask_url("sqlite:////tmp/a.db") == "sqlite:////tmp/a.db"


@pytest.mark.parametrize(
    "url", ["mysql://root:pw@localhost/db", "sqlite://", "sqlite:///:memory:", "not a url"]
)
def test_unsupported_urls_raise_store_error(url: str) -> None:
    with pytest.raises(StoreError) as info:
        open_store(url)
    assert "\n" not in str(info.value)


def test_unreachable_server_gives_one_line_without_password() -> None:
    with pytest.raises(StoreError) as info:
        open_store("postgresql://deployer:hunter2@127.0.0.1:1/state")
    message = str(info.value)
    assert "\n" not in message
    assert "hunter2" not in message
    assert "postgresql://deployer:***@127.0.0.1:1/state" in message
    assert isinstance(info.value.__cause__, sa.exc.OperationalError)


def test_missing_database_names_the_masked_url(pg_url: str) -> None:
    url = (
        sa.make_url(pg_url)
        .set(password="topsecret", database="no_such_db_shipway")
        .render_as_string(hide_password=False)
    )
    with pytest.raises(StoreError) as info:
        open_store(url)
    message = str(info.value)
    assert "\n" not in message and "topsecret" not in message
    assert "no_such_db_shipway" in message


def test_sqlite_folder_that_cannot_exist(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError) as info:
        open_store(f"sqlite:///{blocker}/sub/state.db")
    assert "\n" not in str(info.value)


def test_sqlite_creates_the_parent_folder(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / ".shipway" / "state.db"
    with open_store(f"sqlite:///{path}") as store:
        assert store.dialect == "sqlite"
    assert path.is_file()


def test_postgres_scheme_is_accepted(pg_url: str) -> None:
    with open_store(pg_url.replace("postgresql://", "postgres://", 1)) as store:
        assert store.dialect == "postgresql"
        assert "postgres" in repr(store)


def test_dialect_names(store: Store, state_url: str) -> None:
    assert store.dialect == ("sqlite" if state_url.startswith("sqlite") else "postgresql")


def test_sqlite_connection_settings(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as store, store.db.read() as conn:
        pragma = lambda name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("synchronous") == 1  # NORMAL
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") == 30_000


def test_sqlite_write_transactions_take_the_write_lock_at_begin(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with open_store(f"sqlite:///{path}") as store:
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            with store.db.read():
                other.execute("BEGIN IMMEDIATE")  # a reader does not block a writer
                other.execute("ROLLBACK")
            with store.db.write(), pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")  # before the writer ran any statement
        finally:
            other.close()


def test_errors_inside_transactions_are_translated(store: Store) -> None:
    with pytest.raises(StoreError, match="no_such_table") as info, store.db.write("poke") as conn:
        conn.execute(sa.text("SELECT * FROM no_such_table"))
    assert "poke failed" in str(info.value)
