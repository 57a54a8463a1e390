"""Control coverage of a scan (`shipway scan --compliance soc2`): for each control of a
framework, whether a rule that ran checked it and passed, checked it and failed (with the
findings), or whether no rule covers it at all."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shipway.scanner.compliance import Control, controls
from shipway.scanner.findings import Finding

if TYPE_CHECKING:
    from shipway.scanner.engine import ScanReport

PASSING = "passing"
FAILING = "failing"
NOT_COVERED = "not covered"
#: The rule-id family of each scanner: a pattern `family.*` is checked when it ran.
FAMILIES = {
    "dependencies": "dependency",
    "secrets": "secret",
    "misconfiguration": "misconfig",
    "code": "code",
    "runtime": "runtime",
}


@dataclass(frozen=True)
class ControlCoverage:
    control: Control
    status: str
    #: Rules that ran and give evidence for the control (patterns for a whole family).
    checked_by: tuple[str, ...]
    #: Findings that fail it: active ones and those a baseline set aside.
    findings: tuple[Finding, ...]
    #: Findings that would fail it, accepted by `security.ignore`.
    accepted: tuple[Finding, ...]


def coverage(report: ScanReport, framework: str) -> list[ControlCoverage]:
    ran = {run.name for run in report.runs if run.status == "ran"}
    families = {FAMILIES[name] for name in ran if name in FAMILIES}
    known = set(report.rules) | {f.rule for f in report.findings}
    failing = [*report.findings, *report.baselined]
    accepted = [s.finding for s in report.suppressed]
    out = []
    for control in controls(framework):
        checked_by: list[str] = []
        for pattern in control.rules:
            family, _, rest = pattern.partition(".")
            if rest == "*" and family in families:
                checked_by.append(pattern)
            else:
                checked_by.extend(sorted(r for r in known if fnmatch.fnmatchcase(r, pattern)))
        failed = tuple(f for f in failing if control.covers(f.rule))
        status = NOT_COVERED if not checked_by and not failed else FAILING if failed else PASSING
        out.append(
            ControlCoverage(
                control,
                status,
                tuple(dict.fromkeys(checked_by)),
                failed,
                tuple(f for f in accepted if control.covers(f.rule)),
            )
        )
    return out


def coverage_document(report: ScanReport, framework: str) -> dict[str, Any]:
    rows = coverage(report, framework)
    counts = {status: 0 for status in (PASSING, FAILING, NOT_COVERED)}
    for row in rows:
        counts[row.status] += 1
    return {
        "framework": framework,
        "counts": counts,
        "controls": [
            {
                "id": row.control.id,
                "label": row.control.label,
                "title": row.control.title,
                "status": row.status,
                "checked_by": list(row.checked_by),
                "findings": [
                    {
                        "id": f.id,
                        "rule": f.rule,
                        "severity": f.severity.label,
                        "where": str(f.location),
                    }
                    for f in row.findings
                ],
                "accepted": [f.id for f in row.accepted],
            }
            for row in rows
        ],
    }
