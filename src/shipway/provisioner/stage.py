"""The pipeline's `provision` stage: plan, then apply, the environment's resources.

Before anything is created the stage registers its compensation (durably, through the
engine): the names it is about to create. Compensation destroys only those, and only
while their record says this deployment created them: a resource that existed before the
run is never removed by a rollback. A retried or resumed stage plans again from the
recorded state, so what an interrupted attempt finished is not redone.
"""

from __future__ import annotations

from typing import Any

from shipway.config.stage import stage_store
from shipway.errors import StageError
from shipway.manifest import ResolvedEnvironment
from shipway.orchestrator.events import STAGE_COMPLETION_EVENTS
from shipway.orchestrator.stages import Stage, StageContext, StageOutcome, registry
from shipway.provisioner.engine import Provisioner
from shipway.provisioner.errors import ProvisionError
from shipway.provisioner.plan import Plan
from shipway.provisioner.planner import build_delete_plan
from shipway.provisioner.session import Session
from shipway.store import Store


class ProvisionStage(Stage):
    """ResourceProvisioner as a pipeline stage."""

    name = "provision"
    completed_event = STAGE_COMPLETION_EVENTS["provision"]
    section = "resources"

    def describe(self, environment: ResolvedEnvironment) -> list[str]:
        kinds = sorted({spec.type for spec in environment.resources.values()})
        return [
            f"plan and apply {len(environment.resources)} resources ({', '.join(kinds)})",
        ]

    def run(self, ctx: StageContext) -> StageOutcome:
        with stage_store(ctx) as store:
            provisioner = _provisioner(ctx, store)
            try:
                plan = provisioner.plan()
            except ProvisionError as e:
                raise StageError(str(e)) from e
            creates = [c.name for c in plan.changes if c.action == "create"]
            if creates:
                ctx.register_compensation(creates=creates)
            ctx.check_cancelled()
            result = provisioner.apply(plan)
            if not result.ok:
                raise StageError(result.error_message())
            outputs = provisioner.outputs()
        counts = plan.counts()
        return StageOutcome(
            message=plan.summary().replace("Plan:", "applied:"),
            outputs={
                "resources": outputs,
                "counts": counts,
                "created": result.names("create"),
                "updated": result.names("update"),
                "replaced": result.names("replace"),
                "destroyed": result.names("delete"),
            },
        )

    def compensate(self, ctx: StageContext, data: dict[str, Any]) -> None:
        with stage_store(ctx) as store:
            provisioner = _provisioner(ctx, store)
            mine = _created_by_run(provisioner, ctx, list(data.get("creates") or []))
            if not mine.changes:
                return
            result = provisioner.apply(mine)
            if not result.ok:
                raise StageError("compensation: " + result.error_message())


def _provisioner(ctx: StageContext, store: Store) -> Provisioner:
    session = Session(
        ctx.loaded,
        ctx.environment,
        store,
        ctx.home,
        by=ctx.deployment.deployment_id,
        cancel=ctx._cancel,
    )
    return Provisioner(session)


def _created_by_run(provisioner: Provisioner, ctx: StageContext, names: list[str]) -> Plan:
    """Deleting the resources of `names` whose record says this deployment created them,
    and those it created but could not record (they did not exist when it planned)."""
    deployment = ctx.deployment.deployment_id
    records = {r.name: r for r in provisioner.records()}
    mine = [n for n in names if n in records and records[n].created_by == deployment]
    unrecorded = [n for n in names if n not in records]
    return build_delete_plan(provisioner.session, mine, unrecorded)


registry.register(ProvisionStage)
