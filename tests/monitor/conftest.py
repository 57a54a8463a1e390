"""Fixtures shared by the monitoring tests: a state store on each backend, and a free
local port. Helpers of one part live in that part's folder (tests/monitor/<part>/)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from shipway.store import Store, open_store


@pytest.fixture
def metrics_store(state_url: str) -> Iterator[Store]:
    """A migrated store on SQLite and on PostgreSQL (see tests/conftest.py `state_url`)."""
    with open_store(state_url) as store:
        yield store


@pytest.fixture
def sqlite_store(tmp_path: object) -> Iterator[Store]:
    """A migrated SQLite store, for tests that are about logic rather than the database."""
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    with open_store(f"sqlite:///{tmp_path / 'state.db'}") as store:
        yield store


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
