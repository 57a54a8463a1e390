"""`shipway alerts list|silence|unsilence|silences|history` through the real CLI, on a
store that holds alerts and attempts; bad input exits 2 with one line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shipway.monitor.alerts.model import Alert, Attempt
from shipway.store import Store

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "notes" / "shipway.yaml"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(EXAMPLE, tmp_path / "shipway.yaml")
    now = datetime.now(UTC)
    with Store.open(f"sqlite:///{tmp_path / '.shipway' / 'state.db'}") as store:
        store.alerts.replace_rule(
            "notes",
            "dev",
            "HighErrorRate",
            [
                Alert(
                    "notes",
                    "dev",
                    "HighErrorRate",
                    {"alertname": "HighErrorRate", "instance": name, "severity": "critical"},
                    {"summary": "high"},
                    state,
                    2.0,
                    now - timedelta(minutes=5),
                    now,
                    fired_at=None if state == "pending" else now,
                )
                for name, state in (("a", "firing"), ("b", "pending"))
            ],
        )
        store.alerts.record_attempt(
            Attempt(
                "notes",
                "dev",
                "ops",
                "webhook",
                '{}:{alertname="HighErrorRate"}',
                "firing",
                1,
                1,
                "failed",
                "HTTP 503",
                now,
                12.5,
            )
        )
    return tmp_path


def shipway(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SHIPWAY_STATE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "shipway", "alerts", *args, "-f", str(root / "shipway.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "COLUMNS": "200"},
    )


def json_of(root: Path, *args: str) -> object:
    done = shipway(root, *args, "--output", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_list_filters_by_state(project: Path) -> None:
    listed = json_of(project, "list", "-e", "dev")
    assert sorted((a["labels"]["instance"], a["state"]) for a in listed) == [
        ("a", "firing"),
        ("b", "pending"),
    ]
    firing = json_of(project, "list", "-e", "dev", "--status", "firing")
    assert [a["labels"]["instance"] for a in firing] == ["a"]
    assert firing[0]["annotations"] == {"summary": "high"} and firing[0]["silenced_by"] == []
    text = shipway(project, "list", "-e", "dev")
    assert text.returncode == 0 and "HighErrorRate" in text.stdout and "firing" in text.stdout


def test_silence_then_unsilence(project: Path) -> None:
    done = shipway(
        project,
        "silence",
        "-e",
        "dev",
        "instance=a",
        'severity=~"crit.*"',
        "--duration",
        "2h",
        "--comment",
        "deploying the fix",
    )
    assert done.returncode == 0, done.stderr
    silence_id = done.stdout.strip()
    assert len(silence_id) == 36
    firing = json_of(project, "list", "-e", "dev", "--status", "firing")
    assert firing[0]["silenced_by"] == [silence_id]
    (listed,) = json_of(project, "silences", "-e", "dev")
    assert listed["id"] == silence_id and listed["status"] == "active"
    assert listed["matchers"] == ["instance='a'", "severity=~'crit.*'"]
    assert listed["comment"] == "deploying the fix" and listed["author"]
    ends = datetime.fromisoformat(listed["ends_at"]) - datetime.fromisoformat(listed["starts_at"])
    assert ends == timedelta(hours=2)
    done = shipway(project, "unsilence", silence_id)
    assert done.returncode == 0 and "expired" in done.stdout
    assert json_of(project, "list", "-e", "dev", "--status", "firing")[0]["silenced_by"] == []
    assert json_of(project, "silences", "-e", "dev") == []
    assert json_of(project, "silences", "-e", "dev", "--all")[0]["status"] == "expired"


def test_history_lists_attempts(project: Path) -> None:
    (attempt,) = json_of(project, "history", "-e", "dev")
    assert attempt["channel"] == "ops" and attempt["outcome"] == "failed"
    assert attempt["error"] == "HTTP 503" and attempt["status"] == "firing"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["silence", "-e", "dev", "instance", "--comment", "x"], "invalid matcher"),
        (["silence", "-e", "dev", "instance=a"], "--comment is required"),
        (["silence", "-e", "dev", "instance=~(", "--comment", "x"], "invalid regular expr"),
        (["silence", "-e", "dev", "team=", "--comment", "x"], "match every alert"),
        (["silence", "-e", "dev", "a=b", "--duration", "soon", "--comment", "x"], "duration"),
        (["unsilence", "0000"], "no silence '0000'"),
        (["list", "-e", "nope"], "nope"),
        (["list", "-e", "dev", "--status", "sleeping"], "sleeping"),
    ],
)
def test_bad_input_exits_2_with_one_line(project: Path, args: list[str], message: str) -> None:
    done = shipway(project, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
