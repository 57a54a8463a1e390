"""Fixtures for the state store tests: an open store on each backend, and a deployment."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shipway.store import DeploymentRecord, Store, open_store

WORKER = Path(__file__).with_name("race_worker.py")


@pytest.fixture
def store(state_url: str) -> Iterator[Store]:
    """A freshly migrated store on SQLite or PostgreSQL, closed after the test."""
    opened = open_store(state_url)
    yield opened
    opened.close()


def new_deployment(
    store: Store, deployment_id: str = "dep-000001", **fields: Any
) -> DeploymentRecord:
    fields.setdefault("project", "shop")
    fields.setdefault("environment", "staging")
    return store.deployments.create(DeploymentRecord(id=deployment_id, **fields))


@pytest.fixture
def deployment(store: Store) -> DeploymentRecord:
    return new_deployment(store)


def run_workers(commands: list[list[str]], timeout: float = 60) -> list[dict[str, Any]]:
    """Run `race_worker.py` once per argument list, all starting their work at the same
    instant; returns each worker's JSON report."""
    start_at = str(time.time() + 1.5)
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), start_at, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in commands
    ]
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports
