"""Fixtures for the log tests: an open store on each backend and its log tables."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shipway.monitor.logs import LogRepository, log_repository
from shipway.store import Store, open_store


@pytest.fixture
def store(state_url: str) -> Iterator[Store]:
    opened = open_store(state_url)
    yield opened
    opened.close()


@pytest.fixture
def logs(store: Store) -> LogRepository:
    return log_repository(store)
