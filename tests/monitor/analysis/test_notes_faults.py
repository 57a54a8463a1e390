"""The example application's ERROR_RATE switch, which the analysis and alert tests use to
make a release misbehave: a real notes process answering 500 to an even share of requests,
counting them in its own metrics, and sparing /health and /metrics."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx

from tests.examples.notes_process import NotesProcess


def _five_hundreds(metrics: str) -> float:
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith("http_requests_total{") and 'status="500"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_error_rate_fails_that_share_of_api_requests(tmp_path: Path) -> None:
    app = NotesProcess(
        tmp_path, {"DATABASE_URL": f"sqlite:///{tmp_path / 'n.db'}", "ERROR_RATE": "0.2"}
    )
    try:
        app.wait_ready()
        with app.client() as client:
            statuses = [client.get("/notes").status_code for _ in range(50)]
            health = [client.get("/health").status_code for _ in range(10)]
            metrics = client.get("/metrics")
        assert statuses.count(500) == 10  # evenly spread: exactly one in five
        assert set(statuses) == {200, 500}
        assert health == [200] * 10
        assert metrics.status_code == 200
        assert _five_hundreds(metrics.text) == 10
    finally:
        app.close()


def test_error_rate_file_changes_the_rate_while_running(tmp_path: Path) -> None:
    rate = tmp_path / "rate"
    rate.write_text("0")
    app = NotesProcess(
        tmp_path,
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'n.db'}", "ERROR_RATE_FILE": str(rate)},
    )
    try:
        app.wait_ready()
        with app.client() as client:
            assert [client.get("/notes").status_code for _ in range(20)] == [200] * 20
            rate.write_text("1")
            assert _wait_for_failures(client)
            rate.write_text("")
            assert _wait_for_failures(client, want=False)
    finally:
        app.close()


def _wait_for_failures(client: httpx.Client, want: bool = True) -> bool:
    """Poll until every request fails (want) or none does (not want)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        codes = {client.get("/notes").status_code for _ in range(5)}
        if codes == ({500} if want else {200}):
            return True
        time.sleep(0.2)
    return False


def test_a_bad_error_rate_is_refused_with_one_line(tmp_path: Path) -> None:
    app = NotesProcess(
        tmp_path, {"DATABASE_URL": f"sqlite:///{tmp_path / 'n.db'}", "ERROR_RATE": "lots"}
    )
    try:
        assert app.wait_exit() == 2
        assert re.search(r"ERROR_RATE must be a number between 0 and 1, not 'lots'", app.output())
    finally:
        app.close()
