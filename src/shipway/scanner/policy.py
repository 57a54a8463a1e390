"""The release gate: accepted findings (`security.ignore`, with expiry) and the severity
threshold (`security.fail_on`)."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from shipway.manifest.sections import IgnoreRule
from shipway.scanner.findings import Finding, Severity


@dataclass(frozen=True)
class Suppressed:
    """A finding an ignore entry accepts, with the entry's reason."""

    finding: Finding
    ignore_id: str
    reason: str
    expires: datetime.date | None


def apply_ignores(
    findings: Iterable[Finding], ignores: Sequence[IgnoreRule], today: datetime.date
) -> tuple[list[Finding], list[Suppressed]]:
    """Split findings into active and suppressed. An entry holds through its `expires`
    day; after that its finding is active again and says which ignore expired."""
    by_name: dict[str, IgnoreRule] = {}
    for entry in ignores:
        by_name.setdefault(entry.id, entry)
    active: list[Finding] = []
    suppressed: list[Suppressed] = []
    for finding in findings:
        rule: IgnoreRule | None = next((by_name[n] for n in finding.names() if n in by_name), None)
        if rule is None:
            active.append(finding)
        elif rule.expires is None or today <= rule.expires:
            suppressed.append(Suppressed(finding, rule.id, rule.reason, rule.expires))
        else:
            note = f"ignore {rule.id!r} expired on {rule.expires.isoformat()}: {rule.reason}"
            properties = MappingProxyType({**finding.properties, "ignore_expired": note})
            active.append(dataclasses.replace(finding, properties=properties))
    return active, suppressed


def blocking(findings: Iterable[Finding], fail_on: Severity) -> list[Finding]:
    """The findings at or above the threshold: any of them fails the gate."""
    return [finding for finding in findings if finding.severity >= fail_on]
