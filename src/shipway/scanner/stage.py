"""The pipeline's `scan` stage: the manifest's folder scanned with the environment's
`security:` policy, with the resources the store records for the environment and (for the
runtime scanner) the services of its active release, i.e. what serves users while the
new release waits. The JSON, SARIF and HTML reports go to the deployment's artifacts;
new findings (not in `security.baseline`) at or above `security.fail_on` (after
`security.ignore`) stop the deployment."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from shipway.errors import StageError
from shipway.orchestrator.events import STAGE_COMPLETION_EVENTS
from shipway.orchestrator.stages.interface import Stage, StageContext, StageOutcome
from shipway.orchestrator.stages.registry import registry

if TYPE_CHECKING:
    from shipway.manifest import ResolvedEnvironment
    from shipway.scanner import ScanReport
    from shipway.scanner.inputs import DeployedState
    from shipway.store import Store

#: How many blocking findings the failure message names; the report has them all.
SHOWN = 5


@registry.register
class ScanStage(Stage):
    name = "scan"
    completed_event: ClassVar[str] = STAGE_COMPLETION_EVENTS["scan"]
    section = "security"

    def describe(self, environment: ResolvedEnvironment) -> list[str]:
        spec = environment.security
        lines = [f"scan with {', '.join(spec.scanners)}"]
        lines.append(f"advisories from {spec.vulnerability_db}")
        lines.append(f"block on findings at or above {spec.fail_on}")
        if spec.ignore:
            lines.append(f"{len(spec.ignore)} accepted finding(s) in security.ignore")
        if spec.baseline:
            lines.append(f"findings in the baseline {spec.baseline} do not block")
        return lines

    def run(self, ctx: StageContext) -> StageOutcome:
        from pathlib import Path

        from shipway.scanner import ScanSettings, scan
        from shipway.scanner.baseline import Baseline

        settings = ScanSettings.from_manifest(ctx.loaded, ctx.environment.name)
        baseline = Baseline.read(Path(settings.baseline)) if settings.baseline else None
        deployed = _deployed(ctx, "runtime" in settings.scanners)
        report = scan(
            ctx.base_dir,
            settings,
            manifest=ctx.loaded,
            environment=ctx.environment,
            cancelled=ctx.cancelled,
            resources=deployed.resources,
            services=deployed.services,
            home=ctx.home,
            baseline=baseline,
        )
        ctx.check_cancelled()
        written = _write_reports(ctx, report)
        outputs: dict[str, Any] = {
            "passed": report.passed,
            "fail_on": report.fail_on.label,
            "counts": report.counts(),
            "blocking": [f.id for f in report.blocking],
            "suppressed": [s.finding.id for s in report.suppressed],
            "baselined": len(report.baselined),
            "resources": len(deployed.resources),
            "services": [s.service for s in deployed.services],
            "reports": written,
        }
        summary = ", ".join(f"{n} {label}" for label, n in report.counts().items() if n)
        if not report.passed:
            raise StageError(_failure(report, written))
        return StageOutcome(
            message=f"{summary or 'no findings'}; nothing at or above {report.fail_on.label}",
            outputs=outputs,
        )


@contextlib.contextmanager
def _store(ctx: StageContext) -> Iterator[Store]:
    """The agent's open store when the stage runs there; else the workspace's."""
    from shipway.errors import StageError as NoHost
    from shipway.runtime.host import current_host
    from shipway.store import Store
    from shipway.workspace import Workspace

    try:
        store = current_host().store
    except NoHost:
        with Store.open(Workspace.at(ctx.home).state_url) as opened:
            yield opened
    else:
        yield store


def _deployed(ctx: StageContext, services: bool) -> DeployedState:
    from shipway.scanner.inputs import deployed_state

    with _store(ctx) as store:
        project = ctx.loaded.manifest.project
        return deployed_state(store, project, ctx.environment.name, services=services)


def _write_reports(ctx: StageContext, report: ScanReport) -> list[str]:
    from shipway.scanner.compliance import frameworks
    from shipway.scanner.formats import html_report, report_document, sarif_document

    folder = ctx.artifacts_dir
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, document in (
        ("scan.json", report_document(report)),
        ("scan.sarif", sarif_document(report)),
    ):
        path = folder / name
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        paths.append(str(path))
    chosen = tuple(ctx.environment.security.compliance) or tuple(frameworks())
    page = folder / "scan.html"
    page.write_text(html_report(report, chosen), encoding="utf-8")
    paths.append(str(page))
    return paths


def _failure(report: ScanReport, written: list[str]) -> str:
    blocking = report.blocking
    named = [
        f"{f.severity.label} {f.rule} {f.id} at {f.location}: {f.title}" for f in blocking[:SHOWN]
    ]
    more = f"; and {len(blocking) - SHOWN} more" if len(blocking) > SHOWN else ""
    return (
        f"security gate: {len(blocking)} finding(s) at or above {report.fail_on.label}: "
        + "; ".join(named)
        + more
        + f" (report: {written[0]})"
    )
