"""How the notes process starts and stops: the behaviours shipway's runtime relies on."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable

import httpx
import psycopg
import pytest

from tests.examples.conftest import StartNotes
from tests.examples.contract import check_contract
from tests.examples.notes_process import free_port, port_open


def test_sigterm_stops_the_server_cleanly(start_notes: StartNotes) -> None:
    app = start_notes().wait_ready()

    assert app.terminate() == 0
    messages = [line["message"] for line in app.log_lines()]
    assert "Finished server process" in messages[-1]
    assert not port_open(app.port)


def test_fail_health_makes_health_503_and_nothing_else(start_notes: StartNotes) -> None:
    app = start_notes({"FAIL_HEALTH": "1", "NOTES_VERSION": "bad-1"}).wait_ready()

    with app.client() as client:
        health = client.get("/health")
        created = client.post("/notes", json={"text": "still works"})

    assert health.status_code == 503
    assert health.json() == {
        "status": "failing",
        "version": "bad-1",
        "reason": "FAIL_HEALTH is set",
    }
    check_contract(health, "/health")
    assert created.status_code == 201


def test_crash_on_start_exits_1_without_listening(start_notes: StartNotes) -> None:
    app = start_notes({"CRASH_ON_START": "1"})

    assert app.wait_exit() == 1
    assert not port_open(app.port)
    assert any("CRASH_ON_START" in line["message"] for line in app.log_lines())


def test_port_and_host_come_from_the_environment(start_notes: StartNotes) -> None:
    port = free_port()
    app = start_notes({"PORT": str(port), "HOST": "127.0.0.1"}, args=[], port=port).wait_ready()

    with app.client() as client:
        assert client.get("/health").status_code == 200


def test_flag_wins_over_the_port_variable(start_notes: StartNotes) -> None:
    app = start_notes({"PORT": "1"}).wait_ready()  # --port <free port> is also passed

    assert port_open(app.port)


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({"DATABASE_URL": "mysql://root@localhost/notes"}, None, "DATABASE_URL must start"),
        ({"DATABASE_URL": "sqlite:///:memory:"}, None, "must name a SQLite file"),
        ({}, ["--port", "http"], "port must be an integer"),
        ({"PORT": "99999"}, [], "port must be an integer"),
    ],
)
def test_bad_settings_exit_2_with_a_reason(
    start_notes: StartNotes, env: dict[str, str], args: list[str] | None, message: str
) -> None:
    app = start_notes(env, args=args)

    assert app.wait_exit() == 2
    assert message in app.output()
    assert "Traceback" not in app.output()


@pytest.mark.postgres
def test_sigterm_lets_a_request_in_flight_finish(start_notes: StartNotes, pg_url: str) -> None:
    app = start_notes({"DATABASE_URL": pg_url}).wait_ready()
    result: dict[str, httpx.Response] = {}

    def post() -> None:
        result["response"] = httpx.post(
            f"{app.base_url}/notes", json={"text": "in flight"}, timeout=30
        )

    with psycopg.connect(pg_url) as blocker:
        # Holding the table lock parks the app's INSERT mid-request.
        blocker.execute("LOCK TABLE notes IN ACCESS EXCLUSIVE MODE")
        writer = threading.Thread(target=post)
        writer.start()
        wait_until(lambda: insert_is_waiting(pg_url), "the INSERT to wait on the lock")

        app.proc.send_signal(signal.SIGTERM)
        wait_until(lambda: not port_open(app.port), "the server to stop accepting connections")
        assert app.proc.poll() is None  # still draining the request in flight
        blocker.rollback()  # lets the INSERT proceed

    writer.join(timeout=30)
    assert result["response"].status_code == 201
    assert app.wait_exit() == 0
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT text FROM notes").fetchall() == [("in flight",)]


def insert_is_waiting(pg_url: str) -> bool:
    with psycopg.connect(os.environ["SHIPWAY_TEST_PG_URL"]) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
            " AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO notes%%'",
            (pg_url.rpartition("/")[2],),
        ).fetchone()
    return bool(row and row[0])


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
