"""The e2e kind: Playwright driving Debian's Chromium against the example's HTML page
and the test app's form; a screenshot and a trace when a step fails; pytest files."""

from __future__ import annotations

import uuid
import zipfile
from pathlib import Path

import pytest

from shipway.tester.kinds.e2e_plugin import chromium_path
from tests.examples.notes_process import NotesProcess
from tests.tester.apps import TestApp
from tests.tester.conftest import need_browser, run

pytestmark = pytest.mark.usefixtures("browser_installed")


@pytest.fixture(scope="module")
def browser_installed() -> None:
    if not Path(chromium_path()).exists():
        need_browser()


def test_adding_a_note_in_the_browser_passes_and_a_missing_text_fails(
    notes: NotesProcess, tmp_path: Path
) -> None:
    text = f"hello {uuid.uuid4().hex[:8]}"
    report = run(
        f"""
tests:
  e2e:
    - name: add a note
      steps:
        - goto: /
        - fill: {{selector: "#text", value: "{text}"}}
        - click: "button[type=submit]"
        - expect_text: "{text}"
        - expect_url: /
        - screenshot: after
    - name: missing text
      timeout: 2s
      steps:
        - goto: /
        - expect_text: this text is not on the page
""",
        notes.base_url,
        tmp_path,
    )
    passed, failed = report.cases
    assert passed.status == "passed", passed.details
    (shot,) = passed.artifacts
    assert Path(shot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert failed.status == "failed"
    assert failed.message.startswith("step 2 (expect_text: this text is not on the page)")
    png, trace = failed.artifacts
    assert png.endswith(".png") and Path(png).stat().st_size > 1000
    with zipfile.ZipFile(trace) as archive:
        assert any(name.endswith(".trace") for name in archive.namelist())


def test_select_press_and_url(test_app: TestApp, tmp_path: Path) -> None:
    report = run(
        """
tests:
  e2e:
    - name: order
      steps:
        - goto: /page
        - select: {selector: "#size", value: large}
        - fill: {selector: "#who", value: ann}
        - press: {selector: "#who", key: Enter}
        - expect_url: /done*
        - expect_text: ordered size l for ann
    - name: wrong url
      timeout: 1s
      steps:
        - goto: /page
        - expect_url: /elsewhere
""",
        test_app.url,
        tmp_path,
    )
    found = {case.name: case for case in report.cases}
    assert found["order"].status == "passed", found["order"].details
    assert found["wrong url"].status == "failed"
    assert "step 2 (expect_url: /elsewhere)" in found["wrong url"].message


PYTEST_FILE = """
def test_title(page):
    page.goto("/page")
    assert page.title() == "shop"


def test_heading(page):
    page.goto("/page")
    assert page.locator("h1").inner_text() == "not the heading"
"""


def test_pytest_playwright_files_run_with_the_system_browser(
    test_app: TestApp, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    (project / "e2e").mkdir(parents=True)
    (project / "e2e" / "test_shop.py").write_text(PYTEST_FILE)
    report = run(
        "tests:\n  e2e:\n    - {name: shop, pytest: e2e/test_shop.py}\n",
        test_app.url,
        tmp_path,
        base_dir=project,
    )
    found = {case.name: case for case in report.cases}
    assert set(found) == {"test_title[chromium]", "test_heading[chromium]"}
    assert found["test_title[chromium]"].status == "passed"
    failed = found["test_heading[chromium]"]
    assert failed.status == "failed"
    assert "not the heading" in failed.details
    assert {Path(path).suffix for path in failed.artifacts} == {".png", ".zip"}
