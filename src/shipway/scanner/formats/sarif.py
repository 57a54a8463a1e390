"""SARIF 2.1.0, as GitHub code scanning accepts it: one run, the rules the results name
(with `security-severity` for GitHub's severity levels), results with repository-relative
locations under `%SRCROOT%` and stable `partialFingerprints`. Accepted findings are kept as
results with an external suppression and its justification."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from shipway import __version__
from shipway.scanner.engine import ScanReport
from shipway.scanner.findings import Finding, Rule, Severity

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/shipway/shipway"
_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
}
# GitHub maps security-severity to critical (>= 9.0), high (>= 7.0), medium (>= 4.0), low.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
}


def sarif_document(report: ScanReport) -> dict[str, Any]:
    everything: list[tuple[Finding, str | None]] = [(f, None) for f in report.findings]
    everything += [(s.finding, s.reason) for s in report.suppressed]
    rule_ids = sorted({finding.rule for finding, _ in everything})
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    rules = []
    for rule_id in rule_ids:
        example = next(f for f, _ in everything if f.rule == rule_id)
        rules.append(_rule(report.rules.get(rule_id) or _rule_of(example), example.controls))
    results = [_result(f, index[f.rule], reason) for f, reason in everything]
    root_uri = report.root.resolve().as_uri().rstrip("/") + "/"
    run = {
        "tool": {
            "driver": {
                "name": "shipway",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }
        },
        "originalUriBaseIds": {"%SRCROOT%": {"uri": root_uri}},
        "results": results,
        "columnKind": "unicodeCodePoints",
        "properties": {"fail_on": report.fail_on.label, "passed": report.passed},
    }
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


def _rule_of(finding: Finding) -> Rule:
    return Rule(finding.rule, finding.title, finding.why, finding.fix, finding.severity)


def _rule(rule: Rule, controls: tuple[str, ...]) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": "".join(part.capitalize() for part in rule.id.replace(".", "-").split("-")),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.why},
        "help": {
            "text": f"{rule.why}\n\nFix: {rule.fix}",
            "markdown": f"{rule.why}\n\n**Fix:** {rule.fix}",
        },
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {
            "tags": ["security", *controls],
            "security-severity": _SECURITY_SEVERITY[rule.severity],
            "precision": "high",
        },
    }


def _result(finding: Finding, rule_index: int, suppressed_because: str | None) -> dict[str, Any]:
    loc = finding.location
    physical: dict[str, Any] = {
        "artifactLocation": {"uri": quote(loc.path), "uriBaseId": "%SRCROOT%"}
    }
    if loc.line is not None:
        region: dict[str, Any] = {"startLine": loc.line}
        if loc.column is not None:
            region["startColumn"] = loc.column
        physical["region"] = region
    message = f"{finding.title}. {finding.fix}"
    if loc.commit:
        message += f" (found in commit {loc.commit})"
    properties: dict[str, Any] = {
        "id": finding.id,
        "severity": finding.severity.label,
        "risk": finding.risk,
        "risk_reasons": list(finding.risk_reasons),
        "controls": list(finding.controls),
        **dict(finding.properties),
    }
    score = finding.properties.get("cvss_score")
    properties["security-severity"] = score or _SECURITY_SEVERITY[finding.severity]
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": _LEVEL[finding.severity],
        "message": {"text": message},
        "locations": [{"physicalLocation": physical}],
        "partialFingerprints": {"shipwayFindingHash/v1": finding.fingerprint},
        "properties": properties,
    }
    if finding.aliases:
        properties["aliases"] = list(finding.aliases)
    if suppressed_because is not None:
        result["suppressions"] = [{"kind": "external", "justification": suppressed_because}]
    return result
