"""Fixtures for the scanner tests: the shared OSV snapshot (loaded once per session), the
SARIF schema, and helpers to run `shipway scan` as a user does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shipway.scanner.osv.database import OsvDatabase

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
SNAPSHOT = SHARED / "osv-pypi" / "vulns"
SARIF_SCHEMA = SHARED / "sarif" / "sarif-schema-2.1.0.json"


@pytest.fixture(scope="session")
def snapshot() -> Path:
    assert SNAPSHOT.is_dir(), f"the shared OSV snapshot is missing at {SNAPSHOT}"
    return SNAPSHOT


@pytest.fixture(scope="session")
def osv_db(snapshot: Path) -> OsvDatabase:
    return OsvDatabase.load(snapshot)


@pytest.fixture(scope="session")
def sarif_schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SARIF_SCHEMA.read_text())
    return data


def run_cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`shipway ARGS` in a subprocess, as a user runs it."""
    env = dict(os.environ, COLUMNS="200")
    env.pop("SHIPWAY_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "shipway", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


def write_record(folder: Path, record: dict[str, Any]) -> Path:
    """One OSV record as JSON under `folder` (an offline export of our own)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{record['id']}.json"
    path.write_text(json.dumps(record))
    return path


@pytest.fixture
def small_db(tmp_path: Path, snapshot: Path) -> Iterator[Path]:
    """A copy of a few real snapshot folders: quick to load in a subprocess."""
    import shutil

    target = tmp_path / "osv"
    for package in ("aiohttp", "py", "redis", "beaker", "pyyaml", "django", "jinja2"):
        shutil.copytree(snapshot / package, target / package)
    yield target
