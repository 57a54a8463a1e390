"""Fixtures shared by every test folder.

Tests that need a service find it through an environment variable and skip with the
reason when it is missing; `SHIPWAY_REQUIRE_SERVICES=1` (set by `.ci/run`) turns those
skips into failures (DESIGN.md section 7).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest


def need_service(reason: str) -> None:
    """Skip the calling test, or fail it when services are required."""
    if os.environ.get("SHIPWAY_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


def _admin_pg_url() -> str:
    url = os.environ.get("SHIPWAY_TEST_PG_URL")
    if not url:
        need_service(
            "SHIPWAY_TEST_PG_URL is not set (e.g. postgresql://postgres@127.0.0.1:5432/test)"
        )
    return str(url)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A throwaway PostgreSQL database, dropped after the test."""
    import psycopg

    admin = _admin_pg_url()
    name = "shipway_t_" + uuid.uuid4().hex[:12]
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        need_service(f"PostgreSQL at {admin} is unreachable: {exc}")
    base, _, _ = admin.rpartition("/")
    yield f"{base}/{name}"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """A state-store URL for each backend: a fresh SQLite file, or a fresh PG database."""
    if request.param == "sqlite":
        from pathlib import Path

        assert isinstance(tmp_path, Path)
        return f"sqlite:///{tmp_path / 'state.db'}"
    return str(request.getfixturevalue("pg_url"))
