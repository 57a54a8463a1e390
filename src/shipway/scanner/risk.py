"""Risk: a 0-10 score for each finding, from its CVSS base score (dependencies) or its
rule's severity, adjusted by where it is: production, services listening on every
interface (for vulnerable dependencies and runtime findings), a secret that git history
keeps. The reasons are listed with the score."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from shipway.manifest import ResolvedEnvironment
from shipway.scanner.findings import Finding, Severity
from shipway.scanner.misconfig.interface import PRODUCTION

#: The score of a severity when no CVSS vector gives one (the middle of CVSS's bands).
BASE = {Severity.CRITICAL: 9.5, Severity.HIGH: 8.0, Severity.MEDIUM: 5.5, Severity.LOW: 2.5}
_EVERY_INTERFACE = frozenset({"0.0.0.0", "::", "[::]", "*"})  # noqa: S104 - what we look for


@dataclass(frozen=True)
class RiskContext:
    production: bool = False
    #: Public ports of services listening on every interface.
    exposed_ports: tuple[int, ...] = ()

    @classmethod
    def of(cls, environment: ResolvedEnvironment | None) -> RiskContext:
        if environment is None:
            return cls()
        ports = tuple(
            sorted(
                s.port
                for s in environment.services.values()
                if s.port is not None and s.bind in _EVERY_INTERFACE
            )
        )
        return cls(any(PRODUCTION.match(n) for n in environment.chain), ports)


def assess(finding: Finding, context: RiskContext) -> tuple[float, tuple[str, ...]]:
    """The score and why."""
    cvss = finding.properties.get("cvss_score")
    if cvss:
        score, reasons = float(cvss), [f"CVSS base score {cvss}"]
    else:
        score, reasons = BASE[finding.severity], [f"{finding.severity.label} severity"]
    if context.production:
        score += 1.0
        reasons.append("production environment (+1.0)")
    if finding.scanner == "dependencies" and context.exposed_ports:
        ports = ", ".join(map(str, context.exposed_ports))
        score += 0.5
        reasons.append(f"services listen on every interface, port {ports} (+0.5)")
    if finding.scanner == "runtime" and _port(finding.properties.get("url", "")) in (
        context.exposed_ports
    ):
        score += 0.5
        reasons.append("the service listens on every interface (+0.5)")
    if finding.scanner == "secrets" and "git_commit" in finding.properties:
        score += 0.5
        reasons.append("kept in git history: only rotation removes it (+0.5)")
    return round(min(score, 10.0), 1), tuple(reasons)


def _port(url: str) -> int | None:
    try:
        return urlsplit(url).port
    except ValueError:
        return None


def scored(findings: Iterable[Finding], context: RiskContext) -> list[Finding]:
    """`findings` with their risk set."""
    out = []
    for finding in findings:
        risk, reasons = assess(finding, context)
        out.append(dataclasses.replace(finding, risk=risk, risk_reasons=reasons))
    return out
