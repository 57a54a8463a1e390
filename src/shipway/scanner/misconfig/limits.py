"""Services without a memory limit: one leaking process can starve every other one."""

from __future__ import annotations

from collections.abc import Iterator

from shipway.scanner.findings import Finding, Rule, Severity
from shipway.scanner.misconfig.interface import ManifestView, MisconfigRule


class ServiceWithoutMemoryLimit(MisconfigRule):
    rule = Rule(
        id="misconfig.service-without-memory-limit",
        title="Service without a memory limit",
        why="A process that leaks or is flooded grows until the host swaps or the kernel "
        "kills something else; the capacity check cannot count it either.",
        fix="Set `limits: {memory: 256Mi}` (or what the service needs) on the service.",
        severity=Severity.LOW,
    )

    def check(self, view: ManifestView) -> Iterator[Finding]:
        for name, service in view.environment.services.items():
            if service.limits.memory is None:
                detail = f"service {name!r} has no `limits.memory`"
                yield self.finding(view, name, ("services", name, "limits", "memory"), detail)
