"""Fixtures for the example application's tests: running notes processes.

`notes_app` is one process shared by the tests that only add data (fast); tests that
need their own environment, database or signals start one with `start_notes`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.examples.notes_process import SHARED_VERSION, NotesProcess


@pytest.fixture(scope="session")
def notes_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NotesProcess]:
    """A notes process on a fresh SQLite file, for the whole session."""
    workdir = tmp_path_factory.mktemp("notes-shared")
    env = {"DATABASE_URL": f"sqlite:///{workdir / 'notes.db'}", "NOTES_VERSION": SHARED_VERSION}
    app = NotesProcess(workdir, env)
    try:
        yield app.wait_ready()
    finally:
        app.close()


StartNotes = Callable[..., NotesProcess]


@pytest.fixture
def start_notes(tmp_path: Path) -> Iterator[StartNotes]:
    """Start notes processes (not waited for); all are killed after the test.

    `env` is laid over DATABASE_URL=<a SQLite file in tmp_path>; a value of None unsets
    a variable. Keyword arguments go to NotesProcess.
    """
    started: list[NotesProcess] = []

    def start(env: Mapping[str, str | None] | None = None, **kwargs: Any) -> NotesProcess:
        merged: dict[str, str | None] = {"DATABASE_URL": f"sqlite:///{tmp_path / 'notes.db'}"}
        merged.update(env or {})
        app = NotesProcess(tmp_path, merged, **kwargs)
        started.append(app)
        return app

    yield start
    for app in started:
        app.close()


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A DATABASE_URL for each storage: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'notes.db'}"
    return str(request.getfixturevalue("pg_url"))
