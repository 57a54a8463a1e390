"""Fixtures of the tester's tests: the example application running for real, a small
test application, and helpers that run a `tests:` section against them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipway.manifest import load_manifest_text, resolve_environment
from shipway.tester import Observer, RunReport, TestTarget, build_target, run_tests
from tests.examples.notes_process import NotesProcess
from tests.tester.apps import TestApp

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "notes"


@pytest.fixture(scope="session")
def notes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NotesProcess]:
    """The example application, as a real process on a fresh SQLite file."""
    workdir = tmp_path_factory.mktemp("notes-tester")
    app = NotesProcess(workdir, {"DATABASE_URL": f"sqlite:///{workdir / 'notes.db'}"})
    try:
        yield app.wait_ready()
    finally:
        app.close()


@pytest.fixture(scope="session")
def test_app() -> Iterator[TestApp]:
    app = TestApp().serve()
    try:
        yield app
    finally:
        app.close()


class Recorder(Observer):
    def __init__(self) -> None:
        self.cases: list[str] = []
        self.progress_seen: list[dict[str, object]] = []

    def case_finished(self, case: object) -> None:
        self.cases.append(getattr(case, "name", ""))

    def progress(self, kind: str, data: dict[str, object]) -> None:
        self.progress_seen.append(data)


def make_target(
    tests_yaml: str,
    base_url: str | None,
    root: Path,
    *,
    base_dir: Path = EXAMPLE,
    config_yaml: str = "",
) -> tuple[TestTarget, object]:
    """A target and the `tests` spec of a manifest made of `tests_yaml` (a `tests:` block)."""
    text = (
        "version: 1\nproject: demo\nenvironments:\n  dev: {}\n"
        "services:\n  api: {run: 'true', port: 18080}\n" + config_yaml + tests_yaml
    )
    manifest_path = base_dir / "shipway.yaml"
    loaded = load_manifest_text(text, str(manifest_path))
    environment = resolve_environment(loaded, "dev")
    target = build_target(
        loaded,
        environment,
        base_url=base_url,
        artifacts_dir=root / "artifacts",
        cache_dir=root / "cache",
        observer=Recorder(),
    )
    return target, environment.tests


def run(tests_yaml: str, base_url: str | None, root: Path, **kwargs: object) -> RunReport:
    target, spec = make_target(tests_yaml, base_url, root, **kwargs)  # type: ignore[arg-type]
    return asyncio.run(run_tests(spec, target))  # type: ignore[arg-type]


def need_browser() -> None:
    from tests.conftest import need_service

    need_service("Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
