"""Services without a health check: only "the process runs" decides that a release is good."""

from __future__ import annotations

from collections.abc import Iterator

from shipway.scanner.findings import Finding, Rule, Severity
from shipway.scanner.misconfig.interface import ManifestView, MisconfigRule


class ServiceWithoutHealthCheck(MisconfigRule):
    rule = Rule(
        id="misconfig.service-without-health-check",
        title="Service without a health check",
        why="Without `health.http` or `health.command`, a release that starts but cannot "
        "serve (a bad migration, a missing secret) takes the traffic anyway.",
        fix="Add `health: {http: /health}` (or a `command`) that exercises what the "
        "service needs to work.",
        severity=Severity.LOW,
    )

    def check(self, view: ManifestView) -> Iterator[Finding]:
        for name, service in view.environment.services.items():
            if service.health.http is None and service.health.command is None:
                detail = f"service {name!r} has neither `health.http` nor `health.command`"
                yield self.finding(view, name, ("services", name, "health"), detail)
