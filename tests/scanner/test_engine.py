"""The framework: findings, concurrent scanners, errors, ignores with expiry, the gate and
compliance controls. Scanners here are small subclasses of the real `Scanner`."""

from __future__ import annotations

import dataclasses
import datetime
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipway.errors import InputError
from shipway.manifest.sections import IgnoreRule
from shipway.scanner.engine import run_scan
from shipway.scanner.findings import Finding, Location, Severity
from shipway.scanner.scanners import Scanner, ScannerError, ScanTarget
from shipway.scanner.settings import ScanSettings

TODAY = datetime.date(2026, 6, 1)


def finding(id: str, severity: Severity, rule: str = "demo.rule", line: int = 1) -> Finding:
    return Finding(
        id=id,
        rule=rule,
        scanner="demo",
        severity=severity,
        location=Location("app.py", line),
        title=f"{id} title",
        why="because",
        fix="fix it",
        aliases=(f"CVE-{id}",),
    )


class FixedScanner(Scanner):
    name = "fixed"

    def __init__(self, *found: Finding, barrier: threading.Barrier | None = None) -> None:
        self.found = found
        self.barrier = barrier

    def scan(self, target: ScanTarget) -> Iterator[Finding]:
        if self.barrier is not None:
            self.barrier.wait()  # both scanners must be running at once to get past this
        yield from self.found


class BrokenScanner(Scanner):
    name = "broken"

    def scan(self, target: ScanTarget) -> Iterator[Finding]:
        raise ScannerError("the database is unreachable")
        yield  # pragma: no cover


def test_finding_is_frozen() -> None:
    item = finding("X-1", Severity.LOW)
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.severity = Severity.HIGH  # type: ignore[misc]
    assert str(Location("a/b.py", 3, 7, "0123456789abcdef")) == "a/b.py:3:7 @ 0123456789ab"
    assert Severity.parse("Moderate") is Severity.MEDIUM
    with pytest.raises(ValueError, match="unknown severity"):
        Severity.parse("urgent")


def test_scanners_run_concurrently(tmp_path: Path) -> None:
    barrier = threading.Barrier(2, timeout=10)
    scanners = [
        FixedScanner(finding("A-1", Severity.LOW), barrier=barrier),
        FixedScanner(finding("B-1", Severity.HIGH), barrier=barrier),
    ]
    report = run_scan(ScanTarget(tmp_path), ScanSettings(), scanners=scanners, today=TODAY)
    # Sorted most severe first.
    assert [f.id for f in report.findings] == ["B-1", "A-1"]
    assert [r.status for r in report.runs] == ["ran", "ran"]


def test_a_failing_scanner_fails_the_scan(tmp_path: Path) -> None:
    scanners = [FixedScanner(finding("A-1", Severity.LOW)), BrokenScanner()]
    with pytest.raises(ScannerError, match="unreachable"):
        run_scan(ScanTarget(tmp_path), ScanSettings(), scanners=scanners)


def test_gate_threshold(tmp_path: Path) -> None:
    scanners = [FixedScanner(finding("M-1", Severity.MEDIUM), finding("L-1", Severity.LOW))]
    high = run_scan(ScanTarget(tmp_path), ScanSettings(fail_on=Severity.HIGH), scanners=scanners)
    assert high.passed and high.blocking == []
    medium = run_scan(
        ScanTarget(tmp_path), ScanSettings(fail_on=Severity.MEDIUM), scanners=scanners
    )
    assert not medium.passed
    assert [f.id for f in medium.blocking] == ["M-1"]
    assert medium.counts() == {"critical": 0, "high": 0, "medium": 1, "low": 1}


def test_ignores_match_ids_aliases_and_rules_until_they_expire(tmp_path: Path) -> None:
    scanners = [
        FixedScanner(
            finding("PYSEC-1", Severity.HIGH),
            finding("PYSEC-2", Severity.HIGH),
            finding("S-1", Severity.CRITICAL, rule="secret.demo"),
            finding("PYSEC-3", Severity.HIGH),
        )
    ]
    ignores = (
        IgnoreRule(id="PYSEC-1", reason="not reachable", expires=TODAY),
        IgnoreRule(id="CVE-PYSEC-2", reason="by alias", expires=None),
        IgnoreRule(id="secret.demo", reason="test fixtures"),
        IgnoreRule(id="PYSEC-3", reason="was fine", expires=TODAY - datetime.timedelta(days=1)),
    )
    settings = ScanSettings(ignores=ignores)
    report = run_scan(ScanTarget(tmp_path), settings, scanners=scanners, today=TODAY)
    assert {s.finding.id for s in report.suppressed} == {"PYSEC-1", "PYSEC-2", "S-1"}
    assert [f.id for f in report.findings] == ["PYSEC-3"]
    expired = report.findings[0].properties["ignore_expired"]
    assert "expired on 2026-05-31" in expired and "was fine" in expired
    assert not report.passed
    # The day after, PYSEC-1's ignore has expired too.
    later = run_scan(
        ScanTarget(tmp_path), settings, scanners=scanners, today=TODAY + datetime.timedelta(days=1)
    )
    assert {f.id for f in later.findings} == {"PYSEC-1", "PYSEC-3"}


def test_compliance_controls_come_from_the_data_files(tmp_path: Path) -> None:
    scanners = [
        FixedScanner(
            finding("S-1", Severity.HIGH, rule="secret.github-pat"),
            finding("D-1", Severity.HIGH, rule="dependency.vulnerability"),
            finding("X-1", Severity.HIGH, rule="other.rule"),
        )
    ]
    every = run_scan(ScanTarget(tmp_path), ScanSettings(), scanners=scanners)
    controls = {f.id: f.controls for f in every.findings}
    assert "SOC2 CC6.1" in controls["S-1"] and "HIPAA 164.312(a)(1)" in controls["S-1"]
    assert "SOC2 CC7.1" in controls["D-1"] and "GDPR Art. 32" in controls["D-1"]
    assert controls["X-1"] == ()
    soc2 = run_scan(ScanTarget(tmp_path), ScanSettings(compliance=("soc2",)), scanners=scanners)
    assert {f.id: f.controls for f in soc2.findings}["S-1"] == ("SOC2 CC6.1",)
    with pytest.raises(InputError, match="unknown compliance framework 'iso27001'"):
        run_scan(ScanTarget(tmp_path), ScanSettings(compliance=("iso27001",)), scanners=scanners)


def test_scanner_names(tmp_path: Path) -> None:
    settings = ScanSettings(scanners=("secrets", "misconfiguration", "code", "runtime"))
    report = run_scan(ScanTarget(tmp_path), settings)
    assert {r.name: (r.status, r.note) for r in report.runs} == {
        "secrets": ("ran", ""),
        "misconfiguration": ("ran", ""),
        "code": ("ran", ""),
        "runtime": ("ran", ""),  # no released services given: nothing to probe
    }
    with pytest.raises(InputError, match="unknown scanner 'secrest'"):
        run_scan(ScanTarget(tmp_path), ScanSettings(scanners=("secrest",)))


def test_missing_folder_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a folder"):
        run_scan(ScanTarget(tmp_path / "nope"), ScanSettings(scanners=("secrets",)))


def test_risk_scores_use_cvss_severity_and_context(tmp_path: Path) -> None:
    from types import MappingProxyType

    from shipway.manifest import load_manifest_text

    loaded = load_manifest_text(
        "version: 1\nproject: p\nenvironments:\n  dev: {target: local}\n"
        "  prod: {extends: dev, approval: required}\n"
        "services:\n  api: {run: x, port: 8080, bind: 0.0.0.0}\n",
        "shipway.yaml",
    )
    vulnerable = dataclasses.replace(
        finding("PYSEC-1", Severity.HIGH),
        scanner="dependencies",
        properties=MappingProxyType({"cvss_score": "7.5"}),
    )
    leaked = dataclasses.replace(
        finding("SECRET-1", Severity.CRITICAL),
        scanner="secrets",
        properties=MappingProxyType({"git_commit": "a" * 40}),
    )
    low = finding("L-1", Severity.LOW)
    scanners = [FixedScanner(low, vulnerable, leaked)]
    prod = run_scan(
        ScanTarget(tmp_path, environment=loaded.environments["prod"]),
        ScanSettings(),
        scanners=scanners,
    )
    risks = {f.id: (f.risk, f.risk_reasons) for f in prod.findings}
    assert risks["PYSEC-1"][0] == 9.0  # 7.5 + production + a port open on every interface
    assert "production environment (+1.0)" in risks["PYSEC-1"][1]
    assert risks["SECRET-1"][0] == 10.0  # capped
    assert risks["L-1"][0] == 3.5
    assert [f.id for f in prod.findings] == ["SECRET-1", "PYSEC-1", "L-1"]
    dev = run_scan(
        ScanTarget(tmp_path, environment=loaded.environments["dev"]),
        ScanSettings(),
        scanners=scanners,
    )
    assert {f.id: f.risk for f in dev.findings}["PYSEC-1"] == 8.0
