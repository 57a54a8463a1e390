"""The pipeline's `test` stage: run the environment's tests against the release the
`release` stage just activated. A failing test fails the gate, and the engine's saga
re-activates the previous release. JUnit and JSON results are kept with the deployment
under `.shipway/artifacts/<deployment>/tests/`."""

from __future__ import annotations

import json
from typing import Any

from shipway.errors import StageError
from shipway.manifest import ResolvedEnvironment
from shipway.orchestrator.events import STAGE_COMPLETION_EVENTS
from shipway.orchestrator.stages import Stage, StageContext, StageOutcome, registry
from shipway.tester.engine import run_tests_sync, selected_kinds
from shipway.tester.junit import write_junit
from shipway.tester.kinds.interface import Observer
from shipway.tester.kinds.registry import load_kind
from shipway.tester.results import CaseResult, RunReport
from shipway.tester.targets import build_target

#: Failed cases named in the stage's error; the rest are counted.
SHOWN_FAILURES = 3


class _EventObserver(Observer):
    """Each failed case becomes an event of the deployment, as it happens."""

    def __init__(self, ctx: StageContext) -> None:
        self.ctx = ctx

    def case_finished(self, case: CaseResult) -> None:
        if not case.ok:
            self.ctx.emit(
                "TEST_FAILED",
                f"{case.suite} {case.name}: {case.message}",
                kind=case.kind,
                suite=case.suite,
                case=case.name,
                status=case.status,
            )


class TestStage(Stage):
    """IntegrationTester as a pipeline stage."""

    __test__ = False
    name = "test"
    completed_event = STAGE_COMPLETION_EVENTS["test"]
    section = "tests"

    def configured(self, environment: ResolvedEnvironment) -> bool:
        return bool(selected_kinds(environment.tests, None))

    def describe(self, environment: ResolvedEnvironment) -> list[str]:
        service = environment.tested_service
        where = f" against service {service}" if service else ""
        return [
            load_kind(name).describe(environment.tests) + where
            for name in selected_kinds(environment.tests, None)
        ]

    def run(self, ctx: StageContext) -> StageOutcome:
        base_url = _release_url(ctx)
        root = ctx.artifacts_dir / "tests"
        provisioned = ctx.deployment.component_states.get("provision", {}).get("resources", {})
        target = build_target(
            ctx.loaded,
            ctx.environment,
            base_url=base_url,
            artifacts_dir=root,
            cache_dir=ctx.home / "cache" / "tester",
            resources=provisioned if isinstance(provisioned, dict) else {},
            observer=_EventObserver(ctx),
        )
        report = run_tests_sync(ctx.environment.tests, target, cancelled=ctx.cancelled)
        ctx.check_cancelled()
        outputs = _outputs(report, ctx)
        if not report.passed:
            ctx.emit(STAGE_COMPLETION_EVENTS["test"], report.summary(), outputs=outputs)
            raise StageError(failure_message(report))
        return StageOutcome(message=report.summary(), outputs=outputs)


def _release_url(ctx: StageContext) -> str | None:
    service = ctx.environment.tested_service
    if service is None:
        return None
    urls = ctx.deployment.component_states.get("release", {}).get("urls", {})
    url = urls.get(service) if isinstance(urls, dict) else None
    if url is None:
        raise StageError(
            f"the tests target service {service!r}, but the release stage reported no URL "
            "for it (does it have a port?)"
        )
    return str(url)


def _outputs(report: RunReport, ctx: StageContext) -> dict[str, Any]:
    """What `component_states["test"]` holds; the files are kept with the deployment."""
    root = ctx.artifacts_dir / "tests"
    root.mkdir(parents=True, exist_ok=True)
    junit = write_junit(report, root / "junit.xml")
    full = root / "report.json"
    full.write_text(json.dumps(report.to_dict(), indent=2, default=str), encoding="utf-8")
    return {
        "passed": report.passed,
        "summary": report.summary(),
        "counts": report.counts(),
        "target": report.target,
        "kinds": {kind.kind: kind.counts() for kind in report.kinds},
        "failures": [
            {"suite": case.suite, "name": case.name, "message": case.message}
            for case in report.failures
        ],
        "junit": str(junit),
        "report": str(full),
    }


def failure_message(report: RunReport) -> str:
    """One line: how many cases failed, and the first few with their reason."""
    failed = report.failures
    shown = [f"{case.suite} {case.name!r}: {case.message}" for case in failed[:SHOWN_FAILURES]]
    more = f" (and {len(failed) - SHOWN_FAILURES} more)" if len(failed) > SHOWN_FAILURES else ""
    noun = "test" if len(failed) == 1 else "tests"
    return f"{len(failed)} {noun} failed: " + "; ".join(shown) + more


registry.register(TestStage)
