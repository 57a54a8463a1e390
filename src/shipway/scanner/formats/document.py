"""The JSON report (`shipway scan --format json`, and the scan stage's artifact)."""

from __future__ import annotations

from typing import Any

from shipway import __version__
from shipway.scanner.engine import ScanReport
from shipway.scanner.findings import Finding, Severity


def finding_data(finding: Finding, fail_on: Severity | None = None) -> dict[str, Any]:
    loc = finding.location
    data: dict[str, Any] = {
        "id": finding.id,
        "rule": finding.rule,
        "scanner": finding.scanner,
        "severity": finding.severity.label,
        "location": {
            "path": loc.path,
            "line": loc.line,
            "column": loc.column,
            "commit": loc.commit,
        },
        "where": str(loc),
        "title": finding.title,
        "why": finding.why,
        "fix": finding.fix,
        "controls": list(finding.controls),
        "aliases": list(finding.aliases),
        "properties": dict(finding.properties),
        "fingerprint": finding.fingerprint,
        "risk": finding.risk,
        "risk_reasons": list(finding.risk_reasons),
    }
    if fail_on is not None:
        data["blocking"] = finding.severity >= fail_on
    return data


def report_document(report: ScanReport) -> dict[str, Any]:
    return {
        "tool": "shipway",
        "version": __version__,
        "root": str(report.root),
        "passed": report.passed,
        "fail_on": report.fail_on.label,
        "counts": report.counts(),
        "scanners": [
            {
                "name": r.name,
                "status": r.status,
                "seconds": r.seconds,
                "findings": r.findings,
                "note": r.note,
            }
            for r in report.runs
        ],
        "findings": [finding_data(f, report.fail_on) for f in report.findings],
        "suppressed": [
            {
                "finding": finding_data(s.finding),
                "ignore": {
                    "id": s.ignore_id,
                    "reason": s.reason,
                    "expires": s.expires.isoformat() if s.expires else None,
                },
            }
            for s in report.suppressed
        ],
        "baseline": report.baseline,
        "baselined": [finding_data(f) for f in report.baselined],
    }
