"""Production without approval: a release to production should wait for a person."""

from __future__ import annotations

from collections.abc import Iterator

from shipway.scanner.findings import Finding, Rule, Severity
from shipway.scanner.misconfig.interface import ManifestView, MisconfigRule


class ProductionWithoutApproval(MisconfigRule):
    rule = Rule(
        id="misconfig.production-without-approval",
        title="Production deploys without approval",
        why="Any change that passes the pipeline reaches production with nobody deciding "
        "that it should; change management (SOC 2 CC8.1) expects an approval step.",
        fix="Set `approval: required` on the production environment; releases then wait "
        "for `shipway approve ID`.",
        severity=Severity.MEDIUM,
    )

    def check(self, view: ManifestView) -> Iterator[Finding]:
        if view.production and view.environment.spec.approval != "required":
            name = view.environment.name
            detail = f"environment {name!r} releases without `approval: required`"
            yield self.finding(view, name, ("environments", name), detail)
