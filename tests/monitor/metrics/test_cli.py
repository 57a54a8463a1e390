"""`shipway metrics query` through the real CLI: instant and range queries as JSON and
text, and bad input exiting 2 with one line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shipway.monitor.query import write_samples
from shipway.store import open_store

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "notes" / "shipway.yaml"


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, str, float]:
    manifest = tmp_path / "shipway.yaml"
    shutil.copy(EXAMPLE, manifest)
    state = f"sqlite:///{tmp_path / 'state.db'}"
    now = time.time()
    rows = []
    for k in range(20):
        t = now - 300 + k * 15
        rows.append(("req_total", {"job": "api", "status": "200"}, t, float(k * 30)))
        rows.append(("req_total", {"job": "api", "status": "500"}, t, float(k * 3)))
    with open_store(state) as store:
        write_samples(store, "notes", "dev", rows)
    return manifest, state, now


def _run(manifest: Path, state: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "shipway",
            "metrics",
            "query",
            *args,
            "-f",
            str(manifest),
            "--state",
            state,
            "-e",
            "dev",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_instant_query_as_json(project: tuple[Path, str, float]) -> None:
    manifest, state, now = project
    done = _run(
        manifest,
        state,
        "sum by (status) (rate(req_total[1m]))",
        "--output",
        "json",
        "--at",
        f"{now - 30:.3f}",
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["resultType"] == "vector"
    found = {r["metric"]["status"]: float(r["value"][1]) for r in data["result"]}
    assert found == pytest.approx({"200": 2.0, "500": 0.2})


def test_range_query_as_json_and_text(project: tuple[Path, str, float]) -> None:
    manifest, state, now = project
    done = _run(
        manifest,
        state,
        'req_total{status="500"}',
        "--range",
        "2m",
        "--step",
        "30s",
        "--at",
        f"{now - 30:.3f}",
        "--output",
        "json",
    )
    assert done.returncode == 0, done.stderr
    (series,) = json.loads(done.stdout)["result"]
    assert len(series["values"]) == 5
    text = _run(manifest, state, "count(req_total)", "--range", "2m", "--at", "now-30s")
    assert text.returncode == 0 and "points" in text.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["rate(req_total)"], "error: invalid expression at column 1: rate() expects"),
        (["req_total", "--at", "yesterday"], "error: invalid time 'yesterday'"),
        (["req_total", "--range", "1x"], "error: --range: invalid duration '1x'"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    project: tuple[Path, str, float], args: list[str], message: str
) -> None:
    manifest, state, _ = project
    done = _run(manifest, state, *args)
    assert done.returncode == 2
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr
