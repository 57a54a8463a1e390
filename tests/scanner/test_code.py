"""The code scanner: bandit's issues as findings, test code left out, `# nosec` honoured,
unparsable files skipped; and a scanner that cannot run here is reported, not run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from shipway.manifest.sections import IgnoreRule
from shipway.scanner.engine import run_scan
from shipway.scanner.findings import Finding, Severity
from shipway.scanner.scanners.code import CodeScanner, is_test_file
from shipway.scanner.scanners.interface import ScanTarget
from shipway.scanner.settings import ScanSettings

TASKS = """\
import pickle
import subprocess

import yaml


def run(command: str) -> None:
    subprocess.call("sh -c " + command, shell=True)


def load(blob: bytes, text: str) -> object:
    trusted = pickle.loads(blob)  # nosec B301
    return yaml.load(text), trusted, pickle.loads(blob)
"""


def test_bandit_issues_become_findings(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "tasks.py").write_text(TASKS)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_tasks.py").write_text("def test_x():\n    assert 1 + 1 == 2\n")
    (tmp_path / "app" / "broken.py").write_text("def broken(:\n")
    findings = list(CodeScanner().scan(ScanTarget(tmp_path)))
    got = sorted((f.rule, str(f.location), f.severity) for f in findings)
    # The line marked `# nosec B301` is skipped; its neighbour is not.
    assert got == [
        ("code.b301", "app/tasks.py:13:38", Severity.MEDIUM),
        ("code.b403", "app/tasks.py:1:1", Severity.LOW),
        ("code.b404", "app/tasks.py:2:1", Severity.LOW),
        ("code.b506", "app/tasks.py:13:12", Severity.MEDIUM),
        ("code.b602", "app/tasks.py:8:5", Severity.HIGH),
    ]
    assert next(f for f in findings if f.rule == "code.b403").title.startswith("B403 Consider")
    b602 = next(f for f in findings if f.rule == "code.b602")
    assert b602.properties["cwe"] == "CWE-78"
    assert "b602" in b602.properties["url"]
    assert b602.id == "B602:app/tasks.py:8"


def test_code_findings_in_a_scan_with_an_ignore(tmp_path: Path) -> None:
    (tmp_path / "tasks.py").write_text(TASKS)
    ignores = (IgnoreRule(id="code.b403", reason="pickle is only used on signed data"),)
    settings = ScanSettings(scanners=("code",), ignores=ignores)
    report = run_scan(ScanTarget(tmp_path), settings)
    assert [s.finding.rule for s in report.suppressed] == ["code.b403"]
    assert not report.passed  # B602 is high
    b602 = next(f for f in report.findings if f.rule == "code.b602")
    assert "SOC2 CC7.1" in b602.controls


def test_test_files() -> None:
    assert is_test_file("tests/unit/helpers.py")
    assert is_test_file("pkg/test_api.py") and is_test_file("pkg/api_test.py")
    assert is_test_file("conftest.py")
    assert not is_test_file("app/testimony.py")


class MissingToolScanner(CodeScanner):
    def unavailable(self) -> str | None:
        return "needs a tool that is not installed"

    def scan(self, target: ScanTarget) -> Iterator[Finding]:
        raise AssertionError("an unavailable scanner must not run")


def test_an_unavailable_scanner_is_reported_not_run(tmp_path: Path) -> None:
    import shipway.scanner.scanners as registry

    registry.SCANNERS["missing-tool"] = f"{__name__}:MissingToolScanner"
    try:
        report = run_scan(ScanTarget(tmp_path), ScanSettings(scanners=("missing-tool",)))
    finally:
        del registry.SCANNERS["missing-tool"]
    (run,) = report.runs
    assert (run.status, run.note) == ("unavailable", "needs a tool that is not installed")
    assert report.passed
