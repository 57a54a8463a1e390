"""The pipeline's `scan` stage: the manifest's folder scanned with the environment's
`security:` policy. The JSON and SARIF reports go to the deployment's artifacts; findings
at or above `security.fail_on` (after `security.ignore`) stop the deployment."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from shipway.errors import StageError
from shipway.orchestrator.events import STAGE_COMPLETION_EVENTS
from shipway.orchestrator.stages.interface import Stage, StageContext, StageOutcome
from shipway.orchestrator.stages.registry import registry

if TYPE_CHECKING:
    from shipway.manifest import ResolvedEnvironment
    from shipway.scanner import ScanReport

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
        return lines

    def run(self, ctx: StageContext) -> StageOutcome:
        from shipway.scanner import ScanSettings, scan

        settings = ScanSettings.from_manifest(ctx.loaded, ctx.environment.name)
        report = scan(
            ctx.base_dir,
            settings,
            manifest=ctx.loaded,
            environment=ctx.environment,
            cancelled=ctx.cancelled,
        )
        ctx.check_cancelled()
        written = _write_reports(ctx, report)
        outputs: dict[str, Any] = {
            "passed": report.passed,
            "fail_on": report.fail_on.label,
            "counts": report.counts(),
            "blocking": [f.id for f in report.blocking],
            "suppressed": [s.finding.id for s in report.suppressed],
            "reports": written,
        }
        summary = ", ".join(f"{n} {label}" for label, n in report.counts().items() if n)
        if not report.passed:
            raise StageError(_failure(report, written))
        return StageOutcome(
            message=f"{summary or 'no findings'}; nothing at or above {report.fail_on.label}",
            outputs=outputs,
        )


def _write_reports(ctx: StageContext, report: ScanReport) -> list[str]:
    from shipway.scanner.formats import report_document, sarif_document

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
