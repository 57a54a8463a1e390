"""`shipway logs` as a user runs it: filters, bad input, JSON output, and `--follow`
printing lines stored while it runs until it is terminated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from shipway.monitor.logs import LogLine, log_repository
from shipway.store import open_store

MANIFEST = "version: 1\nproject: shop\nenvironments:\n  dev: {target: local}\n"


def shipway(*args: str, cwd: Path, state: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "SHIPWAY_STATE_URL": state}
    return subprocess.run(
        [sys.executable, "-m", "shipway", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
    )


def _line(message: str, ago: float, level: str | None, service: str = "api") -> LogLine:
    return LogLine("shop", "dev", service, f"/l/{service}.log", level, time.time() - ago, message)


@pytest.fixture
def project(tmp_path: Path, state_url: str) -> Path:
    (tmp_path / "shipway.yaml").write_text(MANIFEST)
    with open_store(state_url) as store:
        log_repository(store).append(
            [
                _line("old startup line", 7200, "info"),
                _line("payment failed for order 9", 300, "error"),
                _line("cache warm", 200, "debug", service="worker"),
                _line("disk nearly full", 100, "warn", service="worker"),
                _line("worker crashed hard", 50, "fatal", service="worker"),
            ]
        )
    return tmp_path


def test_filters_by_level_service_time_grep_and_search(project: Path, state_url: str) -> None:
    def messages(*args: str) -> list[str]:
        done = shipway("logs", "-e", "dev", "--output", "json", *args, cwd=project, state=state_url)
        assert done.returncode == 0, done.stderr
        return [json.loads(line)["message"] for line in done.stdout.splitlines()]

    assert messages("--level", "error") == ["payment failed for order 9", "worker crashed hard"]
    assert messages("-s", "worker", "--level", "warning") == [
        "disk nearly full",
        "worker crashed hard",
    ]
    assert messages("--since", "1h") == [
        "payment failed for order 9",
        "cache warm",
        "disk nearly full",
        "worker crashed hard",
    ]
    assert messages("--since", "1h", "--until", "2m") == [
        "payment failed for order 9",
        "cache warm",
    ]
    assert messages("--grep", "ORDER") == ["payment failed for order 9"]
    assert messages("--search", "crashed") == ["worker crashed hard"]
    assert messages("--limit", "2") == ["disk nearly full", "worker crashed hard"]


def test_text_output_shows_time_level_service_and_message(project: Path, state_url: str) -> None:
    done = shipway("logs", "-e", "dev", "--level", "fatal", cwd=project, state=state_url)
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    assert line.endswith("FATAL worker worker crashed hard")


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--level", "loud"], "unknown level"),
        (["--since", "yesterday"], "neither a duration"),
        (["-e", "prod"], "unknown environment"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    project: Path, state_url: str, args: list[str], reason: str
) -> None:
    done = shipway("logs", "-e", "dev", *args, cwd=project, state=state_url)
    assert done.returncode == 2
    assert reason in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_a_bad_full_text_query_is_bad_input_on_sqlite(project: Path, state_url: str) -> None:
    done = shipway("logs", "-e", "dev", "--search", 'crashed "open', cwd=project, state=state_url)
    if state_url.startswith("sqlite"):
        assert done.returncode == 2 and "invalid search query" in done.stderr
    else:
        # PostgreSQL's websearch syntax reads any text as a query.
        assert done.returncode == 0, done.stderr


def test_follow_prints_new_lines_until_terminated(project: Path, state_url: str) -> None:
    env = {**os.environ, "COLUMNS": "200", "SHIPWAY_STATE_URL": state_url}
    follower = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shipway",
            "logs",
            "-e",
            "dev",
            "--follow",
            "-s",
            "api",
            "-o",
            "json",
        ],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    received: list[str] = []

    def reader() -> None:
        assert follower.stdout is not None
        for raw in follower.stdout:
            received.append(json.loads(raw)["message"])

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while len(received) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert received == ["old startup line", "payment failed for order 9"]
        with open_store(state_url) as store:
            logs = log_repository(store)
            for n in range(3):
                logs.append([_line(f"live line {n}", 0, "info"), _line("other", 0, None, "db")])
        while len(received) < 5 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert received[2:] == ["live line 0", "live line 1", "live line 2"]
        assert follower.poll() is None  # still following
    finally:
        follower.terminate()
        _, errors = follower.communicate(timeout=30)
        thread.join(10)
    assert follower.returncode == 0, errors
    assert received[2:] == ["live line 0", "live line 1", "live line 2"]
