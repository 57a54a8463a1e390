from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.orchestrator.harness import Project


@pytest.fixture
def project(tmp_path: Path, state_url: str) -> Iterator[Project]:
    proj = Project(tmp_path / "demo", state_url)
    yield proj
    proj.stop_agent()


@pytest.fixture
def sqlite_project(tmp_path: Path) -> Iterator[Project]:
    proj = Project(tmp_path / "demo", f"sqlite:///{tmp_path / 'demo' / '.shipway' / 'state.db'}")
    yield proj
    proj.stop_agent()
