"""What a runtime probe reports: a rule, what it saw, and the facts behind it; the
runtime scanner turns each into a `Finding` located at the service in the manifest."""

from __future__ import annotations

from dataclasses import dataclass, field

from shipway.scanner.findings import Rule, Severity


@dataclass(frozen=True)
class Problem:
    rule: Rule
    detail: str
    #: Tells several problems of one rule on one service apart (a port, a header).
    subject: str = ""
    properties: dict[str, str] = field(default_factory=dict)


def rule(id: str, title: str, why: str, fix: str, severity: Severity) -> Rule:
    return Rule(f"runtime.{id}", title, why, fix, severity)
