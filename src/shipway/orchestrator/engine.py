"""The deployment workflow on DBOS Transact.

`deployment_workflow` is the durable spine: each numbered action is a DBOS step whose
result is checkpointed, so an executor that dies is resumed at the first step that did
not finish. Steps are written to be safe to run again: stage runs, compensations and
events are recorded in the state store with keys that make a repeat a no-op.

Only a process that owns a DBOS executor (the agent, a worker) imports this module's
workflow into a launched DBOS; the CLI enqueues by name with a DBOS client.
"""

from __future__ import annotations

import functools
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tenacity
from dbos import DBOS

from shipway.errors import LeaseHeldError
from shipway.manifest import LoadedManifest, ResolvedEnvironment, load_manifest_text
from shipway.manifest import resolve_environment as resolve
from shipway.models import DeploymentContext
from shipway.orchestrator import events as ev
from shipway.orchestrator.names import (
    CONTROL_TOPIC,
    LEASE_TTL,
    WAIT_EXCEEDED,
    WORKFLOW_NAME,
    lease_key,
)
from shipway.orchestrator.pipeline import Pipeline, load_stage_plugins
from shipway.orchestrator.runner import StageRun, run_stage
from shipway.orchestrator.stages.interface import StageContext
from shipway.orchestrator.stages.registry import registry
from shipway.store import Store
from shipway.store.records import DeploymentRecord, DeploymentStatus, StageRunRecord

APPROVAL_POLL = 30.0
LEASE_POLL = 1.0


@dataclass
class EngineRuntime:
    """What the executing process provides to the workflow's steps."""

    store: Store
    home: Path
    executor_id: str


_runtime: EngineRuntime | None = None


def bind(runtime: EngineRuntime) -> None:
    """Called once by the executing process before it launches DBOS."""
    global _runtime
    _runtime = runtime


def _rt() -> EngineRuntime:
    if _runtime is None:
        raise RuntimeError("the deployment engine is not bound to a store")
    return _runtime


# --- the workflow -----------------------------------------------------------------------


@DBOS.workflow(name=WORKFLOW_NAME, max_recovery_attempts=100)
def deployment_workflow(deployment_id: str) -> str:
    """Run one deployment to a terminal status and return that status."""
    try:
        return _run(deployment_id)
    except Exception as exc:
        return _finish(deployment_id, "failed", f"internal error: {type(exc).__name__}: {exc}")


def _run(deployment_id: str) -> str:
    begin = _begin(deployment_id)
    if begin["stop"]:
        return _finish(deployment_id, begin["stop"], begin["reason"])
    lease = _wait_for_lease(deployment_id)
    if not lease["ok"]:
        return _finish(deployment_id, "failed", lease["reason"])
    pipeline = Pipeline.from_dict(begin["pipeline"])
    failure: str | None = None
    cancelled = False
    for index, group in enumerate(pipeline.groups):
        if index == pipeline.approval_group and not _wait_for_approval(deployment_id):
            cancelled = True
            break
        outcome = _run_group(deployment_id, list(group))
        if outcome["gate"] == "cancelled":
            cancelled = True
            break
        if outcome["gate"] == "lost":
            return _finish(deployment_id, "failed", outcome["reason"])
        results: dict[str, dict[str, Any]] = outcome["results"]
        failed = [f"{name}: {r['error']}" for name, r in results.items() if r["status"] == "failed"]
        if failed:
            failure = "; ".join(failed)
            break
        if any(r["status"] == "cancelled" for r in results.values()):
            cancelled = True
            break
    if failure is None and not cancelled:
        return _finish(deployment_id, "succeeded", "")
    compensated = _compensate(deployment_id)
    if cancelled:
        return _finish(deployment_id, "cancelled", "cancelled by request")
    status: DeploymentStatus = "rolled_back" if compensated == "done" else "failed"
    if compensated == "failed":
        failure = f"{failure}; compensation failed, see events"
    return _finish(deployment_id, status, failure or "")


def _wait_for_lease(deployment_id: str) -> dict[str, Any]:
    announced = False
    while True:
        attempt = _try_lease(deployment_id)
        if attempt["ok"] or not attempt["may_wait"]:
            return attempt
        if not announced:
            _emit_step(deployment_id, ev.LEASE_WAITING, attempt["reason"], "lease:waiting")
            announced = True
        DBOS.sleep(LEASE_POLL)


def _wait_for_approval(deployment_id: str) -> bool:
    """Durably wait for `shipway approve`. False when the deployment was cancelled."""
    state = _enter_approval(deployment_id)
    while state == "pending":
        DBOS.recv(CONTROL_TOPIC, timeout_seconds=APPROVAL_POLL)
        state = _approval_state(deployment_id)
    if state == "approved":
        _leave_approval(deployment_id)
    return state == "approved"


def _compensate(deployment_id: str) -> str:
    """Undo what this run registered, newest first. Returns none, done or failed."""
    pending = _pending_compensations(deployment_id)
    if not pending:
        return "none"
    _emit_step(
        deployment_id,
        ev.COMPENSATION_STARTED,
        f"undoing {len(pending)} action(s) in reverse order",
        "compensation:started",
    )
    outcomes = [_compensate_one(deployment_id, comp_id) for comp_id in pending]
    return "done" if all(outcomes) else "failed"


# --- steps ------------------------------------------------------------------------------


@DBOS.step(name="shipway.begin")
def _begin(deployment_id: str) -> dict[str, Any]:
    rt = _rt()
    record = rt.store.deployments.get(deployment_id)
    if record.status in ev.TERMINAL_STATUSES:
        return {"stop": record.status, "reason": record.error or "", "pipeline": None}
    if record.cancel_requested:
        return {"stop": "cancelled", "reason": "cancelled before it started", "pipeline": None}
    waited = (_now() - record.created_at).total_seconds()
    if record.wait_seconds is not None and waited > record.wait_seconds:
        # Its caller gave up (`--wait SECONDS`), perhaps without being able to say so.
        reason = f"waited {waited:.0f}s in the queue, {WAIT_EXCEEDED} {record.wait_seconds:g}"
        return {"stop": "cancelled", "reason": reason, "pipeline": None}
    rt.store.deployments.set_executor(deployment_id, rt.executor_id)
    rt.store.deployments.set_status(deployment_id, "running")
    rt.store.events.append(
        deployment_id,
        record.correlation_id,
        ev.DEPLOYMENT_STARTED,
        message=f"executor {rt.executor_id}",
        data={"executor_id": rt.executor_id},
        dedupe_key="started",
    )
    return {"stop": None, "reason": "", "pipeline": record.pipeline}


@DBOS.step(name="shipway.try_lease")
def _try_lease(deployment_id: str) -> dict[str, Any]:
    rt = _rt()
    record = rt.store.deployments.get(deployment_id)
    key = lease_key(record.project, record.environment)
    try:
        rt.store.leases.acquire(key, deployment_id, LEASE_TTL, owner=rt.executor_id)
    except LeaseHeldError as exc:
        waited = (_now() - record.created_at).total_seconds()
        may_wait = record.wait_seconds is not None and waited < record.wait_seconds
        reason = str(exc) if may_wait else f"{exc} (gave up waiting)"
        return {"ok": False, "may_wait": may_wait, "reason": reason}
    rt.store.events.append(
        deployment_id,
        record.correlation_id,
        ev.LEASE_ACQUIRED,
        message=key,
        dedupe_key="lease:acquired",
    )
    return {"ok": True, "may_wait": False, "reason": ""}


def _gate(rt: EngineRuntime, record: DeploymentRecord) -> dict[str, Any] | None:
    """Before a group: honour a cancel request, and make sure the lease is still ours."""
    if record.cancel_requested:
        return {"gate": "cancelled", "reason": "", "results": {}}
    key = lease_key(record.project, record.environment)
    current = rt.store.leases.get(key)
    if current is not None and current.holder == record.id and current.expires_in() > LEASE_TTL / 2:
        return None  # ours and fresh: the agent's heartbeat keeps it so, no write needed
    try:
        rt.store.leases.acquire(key, record.id, LEASE_TTL, owner=rt.executor_id)
    except LeaseHeldError as exc:
        rt.store.events.append(record.id, record.correlation_id, ev.LEASE_LOST, message=str(exc))
        return {"gate": "lost", "reason": f"lease lost: {exc}", "results": {}}
    return None


@DBOS.step(name="shipway.run_group")
def _run_group(deployment_id: str, group: list[str]) -> dict[str, Any]:
    """Run the stages of one group, in parallel when there are several."""
    rt = _rt()
    record = rt.store.deployments.get(deployment_id)
    stopped = _gate(rt, record)
    if stopped is not None:
        return stopped
    loaded, environment = _manifest_of(record.manifest, record.environment)
    pipeline = Pipeline.from_dict(record.pipeline)
    stop_watching = threading.Event()
    cancels = {name: threading.Event() for name in group}
    watcher = threading.Thread(
        target=_watch_cancel, args=(deployment_id, cancels, stop_watching), daemon=True
    )
    watcher.start()
    previous = {run.stage: run for run in rt.store.stage_runs.list(deployment_id)}
    context = _context_of(record, list(previous.values()))
    runs = [
        StageRun(
            rt.store,
            context,
            loaded,
            environment,
            rt.home,
            record.kind,
            name,
            pipeline.policies[name],
            cancels[name],
            previous.get(name),
        )
        for name in group
    ]
    try:
        if len(runs) == 1:
            results = [run_stage(runs[0])]
        else:
            with ThreadPoolExecutor(max_workers=len(runs)) as pool:
                results = list(pool.map(run_stage, runs))
        by_stage = {run.stage_name: result for run, result in zip(runs, results, strict=True)}
        return {"gate": "ok", "reason": "", "results": by_stage}
    finally:
        stop_watching.set()


def _watch_cancel(
    deployment_id: str, cancels: dict[str, threading.Event], stop: threading.Event
) -> None:
    store = _rt().store
    while not stop.wait(0.25):
        try:
            if store.deployments.get(deployment_id).cancel_requested:
                for event in cancels.values():
                    event.set()
                return
        except Exception:  # noqa: S112 - a transient store error must not kill the watch
            continue


@DBOS.step(name="shipway.enter_approval")
def _enter_approval(deployment_id: str) -> str:
    rt = _rt()
    record = rt.store.deployments.get(deployment_id)
    state = _approval_of(record.approved_by, record.cancel_requested)
    if state == "pending":
        rt.store.deployments.set_status(deployment_id, "awaiting_approval")
        rt.store.events.append(
            deployment_id,
            record.correlation_id,
            ev.APPROVAL_REQUIRED,
            message=f"run `shipway approve {deployment_id}` to continue",
            dedupe_key="approval:required",
        )
    return state


@DBOS.step(name="shipway.approval_state")
def _approval_state(deployment_id: str) -> str:
    record = _rt().store.deployments.get(deployment_id)
    return _approval_of(record.approved_by, record.cancel_requested)


@DBOS.step(name="shipway.leave_approval")
def _leave_approval(deployment_id: str) -> None:
    _rt().store.deployments.set_status(deployment_id, "running")


def _approval_of(approved_by: str | None, cancel_requested: bool) -> str:
    if cancel_requested:
        return "cancelled"
    return "approved" if approved_by else "pending"


@DBOS.step(name="shipway.pending_compensations")
def _pending_compensations(deployment_id: str) -> list[int]:
    return [comp.id for comp in _rt().store.compensations.pending(deployment_id)]


@DBOS.step(name="shipway.compensate")
def _compensate_one(deployment_id: str, compensation_id: int) -> bool:
    rt = _rt()
    record = rt.store.deployments.get(deployment_id)
    comp = next(c for c in rt.store.compensations.list(deployment_id) if c.id == compensation_id)
    if comp.status != "registered":
        return comp.status == "done"
    loaded, environment = _manifest_of(record.manifest, record.environment)
    stage_cls = registry.get(comp.stage)
    ctx = _compensation_context(rt, record, loaded, environment, comp.stage)

    def undo() -> None:
        if stage_cls is None:
            raise RuntimeError(f"stage plugin {comp.stage!r} is no longer installed")
        stage_cls().compensate(ctx, dict(comp.data))

    try:
        for attempt in tenacity.Retrying(
            stop=tenacity.stop_after_attempt(3),
            wait=tenacity.wait_exponential(multiplier=0.5, max=5),
            reraise=True,
        ):
            with attempt:
                undo()
    except Exception as exc:
        rt.store.compensations.mark(compensation_id, "failed", error=str(exc))
        rt.store.stage_runs.set_status(deployment_id, comp.stage, "compensation_failed", str(exc))
        rt.store.events.append(
            deployment_id,
            record.correlation_id,
            ev.COMPENSATION_FAILED,
            stage=comp.stage,
            message=f"{type(exc).__name__}: {exc}",
            dedupe_key=f"compensation:{compensation_id}",
        )
        return False
    rt.store.compensations.mark(compensation_id, "done")
    rt.store.stage_runs.set_status(deployment_id, comp.stage, "compensated")
    rt.store.events.append(
        deployment_id,
        record.correlation_id,
        ev.COMPENSATION_COMPLETED,
        stage=comp.stage,
        message=f"undid {comp.data}",
        data={"compensation_id": compensation_id},
        dedupe_key=f"compensation:{compensation_id}",
    )
    return True


@DBOS.step(name="shipway.emit")
def _emit_step(deployment_id: str, event_type: str, message: str, dedupe_key: str) -> None:
    store = _rt().store
    record = store.deployments.get(deployment_id)
    store.events.append(
        deployment_id, record.correlation_id, event_type, message=message, dedupe_key=dedupe_key
    )


@DBOS.step(name="shipway.finish")
def _finish(deployment_id: str, status: DeploymentStatus, reason: str) -> str:
    rt = _rt()
    store = rt.store
    record = store.deployments.get(deployment_id)
    if record.status not in ev.TERMINAL_STATUSES:
        store.deployments.set_status(deployment_id, status, error=reason or None)
    final = {
        "succeeded": ev.DEPLOYMENT_COMPLETED,
        "rolled_back": ev.ROLLED_BACK,
        "cancelled": ev.DEPLOYMENT_CANCELLED,
    }.get(record.status if record.status in ev.TERMINAL_STATUSES else status, ev.DEPLOYMENT_FAILED)
    if status == "succeeded" and record.kind == "rollback" and record.rollback_from:
        _block_rolled_back_digest(store, record)
    key = lease_key(record.project, record.environment)
    store.leases.release(key, deployment_id)
    store.events.append(
        deployment_id,
        record.correlation_id,
        final,
        message=reason or status,
        data={"status": status},
        dedupe_key="finished",
    )
    return store.deployments.get(deployment_id).status


def _block_rolled_back_digest(store: Store, record: DeploymentRecord) -> None:
    assert record.rollback_from is not None
    rolled_from = store.deployments.get(record.rollback_from)
    if rolled_from.manifest_digest == record.manifest_digest:
        return  # only the code changed: blocking the digest would block the rollback's own
    store.environments.block(
        lease_key(record.project, record.environment),
        rolled_from.manifest_digest,
        record.id,
        f"rolled back from deployment {rolled_from.id} by {record.id}",
    )


# --- helpers ----------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _manifest_of(
    snapshot: dict[str, Any], env_name: str
) -> tuple[LoadedManifest, ResolvedEnvironment]:
    parsed = _parsed_manifest(snapshot["source"], snapshot["path"], env_name)
    load_stage_plugins(parsed[0])  # every time: a plugin file may have been edited
    return parsed


@functools.lru_cache(maxsize=32)
def _parsed_manifest(
    source: str, path: str, env_name: str
) -> tuple[LoadedManifest, ResolvedEnvironment]:
    """Each group of a deployment reads the same snapshot: parse it once."""
    loaded = load_manifest_text(source, path)
    return loaded, resolve(loaded, env_name)


def _context_of(
    record: DeploymentRecord, runs: list[StageRunRecord] | None = None
) -> DeploymentContext:
    """The context stages see: component states are the outputs of finished stages."""
    if runs is None:
        runs = _rt().store.stage_runs.list(record.id)
    context = dict(record.context or {})
    return DeploymentContext(
        deployment_id=record.id,
        environment=record.environment,
        correlation_id=record.correlation_id,
        user=record.user,
        manifest_digest=record.manifest_digest,
        component_states={r.stage: r.outputs for r in runs if r.status == "succeeded"},
        shared_metadata=dict(context.get("shared_metadata") or {}),
    )


def _compensation_context(
    rt: EngineRuntime,
    record: DeploymentRecord,
    loaded: LoadedManifest,
    environment: ResolvedEnvironment,
    stage: str,
) -> StageContext:
    def emit(kind: str, message: str, data: dict[str, Any]) -> None:
        rt.store.events.append(
            record.id, record.correlation_id, kind, stage=stage, message=message, data=data
        )

    def refuse(_: dict[str, Any]) -> None:
        raise RuntimeError("a compensation may not register compensations")

    return StageContext(
        deployment=_context_of(record),
        loaded=loaded,
        environment=environment,
        home=rt.home,
        kind=record.kind,
        attempt=0,
        _emit=emit,
        _register=refuse,
        _cancel=threading.Event(),
    )
