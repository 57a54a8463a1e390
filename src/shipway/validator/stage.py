"""The pipeline's `validate` stage: run the environment's requirements before anything
changes, stop the deployment when a required check fails, and keep what was observed
(versions, free ports, capacity) in the deployment context for later stages."""

from __future__ import annotations

import asyncio
import collections
import os
from pathlib import Path
from typing import Any

from shipway.errors import StageError
from shipway.manifest import LoadedManifest, ResolvedEnvironment
from shipway.orchestrator.events import STAGE_COMPLETION_EVENTS
from shipway.orchestrator.stages import Stage, StageContext, StageOutcome, registry
from shipway.validator.engine import ValidationReport, validate
from shipway.validator.registry import CheckScope
from shipway.validator.registry import registry as checks

#: Failed checks named in the stage's error message; the rest are counted.
SHOWN_FAILURES = 3
_POLL = 0.05


class ValidateStage(Stage):
    """EnvironmentValidator as a pipeline stage."""

    name = "validate"
    completed_event = STAGE_COMPLETION_EVENTS["validate"]
    section = "requirements"

    def describe(self, environment: ResolvedEnvironment) -> list[str]:
        scope = CheckScope(base_dir=Path(), home=Path(".shipway"), services=environment.services)
        built = checks.build(environment.requirements, scope)
        families = collections.Counter(check.family for check in built)
        where = "this machine"
        if environment.spec.target == "ssh" and environment.spec.hosts:
            where = f"each of {len(environment.spec.hosts)} hosts over SSH"
        counted = ", ".join(f"{family} {count}" for family, count in families.items())
        return [f"check {len(built)} requirements ({counted or 'none'}) on {where}"]

    def run(self, ctx: StageContext) -> StageOutcome:
        report = asyncio.run(_watched(ctx, ctx.loaded, ctx.environment, ctx.home))
        ctx.check_cancelled()
        if not report.passed:
            raise StageError(failure_message(report))
        return StageOutcome(message=report.summary(), outputs=outputs(report))


async def _watched(
    ctx: StageContext, loaded: LoadedManifest, environment: ResolvedEnvironment, home: Path
) -> ValidationReport:
    # NOTE: the stage runs in the agent, so a port its own proxy holds is the project's.
    task = asyncio.ensure_future(
        validate(loaded, environment, home=home, own_pids=frozenset({os.getpid()}))
    )
    while not task.done():
        await asyncio.wait({task}, timeout=_POLL)
        if ctx.cancelled():
            task.cancel()
            break
    try:
        return await task
    except asyncio.CancelledError:
        ctx.check_cancelled()
        raise


def failure_message(report: ValidationReport) -> str:
    """One line: how many required checks failed, and the first few with their remedy."""
    failed = report.failures
    shown = []
    for result in failed[:SHOWN_FAILURES]:
        where = f" on {result.host}" if report.remote else ""
        shown.append(f"{result.check}{where}: {result.remedy or result.observed}")
    more = f" (and {len(failed) - SHOWN_FAILURES} more)" if len(failed) > SHOWN_FAILURES else ""
    noun = "check" if len(failed) == 1 else "checks"
    return f"{len(failed)} required {noun} failed: " + "; ".join(shown) + more


def outputs(report: ValidationReport) -> dict[str, Any]:
    """What later stages find in `component_states["validate"]`."""
    return {
        "summary": report.counts(),
        "hosts": list(report.hosts),
        "facts": report.facts(),
        "results": [result.to_dict() for result in report.results],
    }


registry.register(ValidateStage)
