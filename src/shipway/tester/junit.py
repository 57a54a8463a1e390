"""JUnit XML from a run report: one `<testsuite>` per case suite (`api.main`,
`contract`, ...), failures and errors with their message and details, artifacts as
`[[ATTACHMENT|path]]` lines in `<system-out>` (the convention CI servers read)."""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from shipway.tester.results import CaseResult, RunReport

# XML 1.0 cannot carry most control characters, and a response body may hold any.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str) -> str:
    return _NOT_XML.sub("\N{REPLACEMENT CHARACTER}", value)


def _suites(report: RunReport) -> dict[str, list[CaseResult]]:
    suites: dict[str, list[CaseResult]] = {}
    for case in report.cases:
        suites.setdefault(case.suite, []).append(case)
    return suites


def _counts(cases: list[CaseResult]) -> dict[str, str]:
    return {
        "tests": str(len(cases)),
        "failures": str(sum(case.status == "failed" for case in cases)),
        "errors": str(sum(case.status == "error" for case in cases)),
        "skipped": str(sum(case.status == "skipped" for case in cases)),
        "time": f"{sum(case.seconds for case in cases):.3f}",
    }


def junit_xml(report: RunReport, name: str = "shipway") -> str:
    """The report as a JUnit XML document."""
    root = ET.Element("testsuites", {"name": name, **_counts(report.cases)})
    root.set("time", f"{report.seconds:.3f}")
    stamp = datetime.now(UTC).replace(microsecond=0).isoformat()
    host = socket.gethostname()
    for suite_name, cases in _suites(report).items():
        suite = ET.SubElement(
            root,
            "testsuite",
            {"name": suite_name, **_counts(cases), "timestamp": stamp, "hostname": host},
        )
        if report.target:
            properties = ET.SubElement(suite, "properties")
            ET.SubElement(properties, "property", {"name": "target", "value": report.target})
        for case in cases:
            _case(suite, case)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _case(suite: ET.Element, case: CaseResult) -> None:
    element = ET.SubElement(
        suite,
        "testcase",
        {"classname": case.suite, "name": _text(case.name), "time": f"{case.seconds:.3f}"},
    )
    if case.properties:
        properties = ET.SubElement(element, "properties")
        for key, value in case.properties.items():
            ET.SubElement(properties, "property", {"name": key, "value": _text(value)})
    if case.status in ("failed", "error"):
        tag = "failure" if case.status == "failed" else "error"
        outcome = ET.SubElement(element, tag, {"message": _text(case.message), "type": tag})
        outcome.text = _text(case.details or case.message)
    elif case.status == "skipped":
        ET.SubElement(element, "skipped", {"message": _text(case.message)})
    if case.artifacts:
        out = ET.SubElement(element, "system-out")
        out.text = "\n".join(f"[[ATTACHMENT|{path}]]" for path in case.artifacts)


def write_junit(report: RunReport, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit_xml(report), encoding="utf-8")
    return path
