"""The notes example on each storage: SQLite and PostgreSQL, across restarts and outages."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

from tests.examples.conftest import StartNotes
from tests.examples.contract import check_contract
from tests.examples.notes_process import APP_DIR


def test_crud_round_trip_and_data_survives_a_restart(
    start_notes: StartNotes, database_url: str
) -> None:
    first = start_notes({"DATABASE_URL": database_url}).wait_ready()
    with first.client() as client:
        assert client.get("/health").json()["status"] == "ok"
        kept = client.post("/notes", json={"text": "kept ✓"}).json()
        dropped = client.post("/notes", json={"text": "dropped"}).json()
        assert client.delete(f"/notes/{dropped['id']}").status_code == 204
        listing = client.get("/notes")
        check_contract(listing, "/notes")
        assert listing.json() == [kept]
    assert first.terminate() == 0

    second = start_notes({"DATABASE_URL": database_url}).wait_ready()
    with second.client() as client:
        assert client.get(f"/notes/{kept['id']}").json() == kept
        assert client.get(f"/notes/{dropped['id']}").status_code == 404
        newer = client.post("/notes", json={"text": "after restart"}).json()
        assert newer["id"] > dropped["id"]  # ids are never reused
        assert "kept ✓" in client.get("/").text


def test_two_processes_share_one_database(start_notes: StartNotes, database_url: str) -> None:
    # A blue/green switch runs the old and the new release side by side for a moment.
    old = start_notes({"DATABASE_URL": database_url, "NOTES_VERSION": "1"})
    new = start_notes({"DATABASE_URL": database_url, "NOTES_VERSION": "2"})
    old.wait_ready()
    new.wait_ready()
    with old.client() as old_client, new.client() as new_client:
        note = old_client.post("/notes", json={"text": "written by v1"}).json()

        assert new_client.get(f"/notes/{note['id']}").json() == note
        assert new_client.get("/health").json() == {"status": "ok", "version": "2"}


def test_health_is_503_when_the_sqlite_file_disappears(
    start_notes: StartNotes, tmp_path: Path
) -> None:
    app = start_notes({"DATABASE_URL": f"sqlite:///{tmp_path / 'notes.db'}"}).wait_ready()
    with app.client() as client:
        assert client.get("/health").status_code == 200
        for path in tmp_path.glob("notes.db*"):  # the file, its -wal and -shm
            path.unlink()

        health = client.get("/health")
        listing = client.get("/notes")

    assert health.status_code == 503
    assert health.json() == {"status": "unavailable", "version": "1", "reason": "database"}
    check_contract(health, "/health")
    assert listing.status_code == 503
    assert listing.json() == {"error": "the database did not answer"}
    check_contract(listing, "/notes")
    assert not list(tmp_path.glob("notes.db*"))  # not silently recreated empty


@pytest.mark.postgres
def test_health_follows_postgresql_going_away_and_coming_back(
    start_notes: StartNotes, pg_url: str
) -> None:
    admin = os.environ["SHIPWAY_TEST_PG_URL"]
    name = pg_url.rpartition("/")[2]
    app = start_notes({"DATABASE_URL": pg_url}).wait_ready()
    with app.client() as client, psycopg.connect(admin, autocommit=True) as conn:
        assert client.get("/health").status_code == 200

        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        down = client.get("/health")
        metrics = client.get("/metrics")
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        up = client.get("/health")

    assert down.status_code == 503
    check_contract(down, "/health")
    assert metrics.status_code == 200  # request metrics still flow during an outage
    assert "notes_total NaN" in metrics.text
    assert up.status_code == 200  # a connection per request: nothing stale to reset


def test_start_fails_when_postgresql_is_unreachable(start_notes: StartNotes) -> None:
    app = start_notes({"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nothing"})

    assert app.wait_exit() == 3  # uvicorn's start-up failure status
    assert "Application startup failed" in app.output()


def test_default_database_is_notes_db_in_the_working_directory(
    start_notes: StartNotes, tmp_path: Path
) -> None:
    workdir = tmp_path / "release"
    workdir.mkdir()
    app = start_notes({"DATABASE_URL": None, "PYTHONPATH": str(APP_DIR)}, cwd=workdir).wait_ready()
    with app.client() as client:
        client.post("/notes", json={"text": "in the default file"})

    assert (workdir / "notes.db").is_file()
