"""Running one stage: retries with backoff, a timeout, cancellation, events and the
stage-run record. No DBOS here: the engine wraps calls to this in durable steps."""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tenacity

from shipway.errors import StageError
from shipway.manifest import LoadedManifest, ResolvedEnvironment
from shipway.models import DeploymentContext
from shipway.orchestrator import events as ev
from shipway.orchestrator.pipeline import StagePolicy
from shipway.orchestrator.stages.interface import (
    Stage,
    StageCancelledError,
    StageContext,
    StageOutcome,
)
from shipway.orchestrator.stages.registry import registry
from shipway.store import Store
from shipway.store.records import StageRunRecord, StageStatus

#: How long a timed-out stage's thread gets to notice `ctx.cancelled()` and stop.
CANCEL_GRACE = 5.0


class StageTimeoutError(StageCancelledError):
    """The stage ran past its policy's timeout."""


@dataclass
class StageRun:
    """Everything needed to run one stage of one deployment."""

    store: Store
    deployment: DeploymentContext
    loaded: LoadedManifest
    environment: ResolvedEnvironment
    home: Path
    kind: str
    stage_name: str
    policy: StagePolicy
    cancel: threading.Event
    #: This stage's record before the run, if any (read once per group by the engine).
    previous: StageRunRecord | None = None

    def emit(
        self,
        event_type: str,
        message: str = "",
        data: dict[str, Any] | None = None,
        dedupe_key: str | None = None,
    ) -> None:
        self.store.events.append(
            self.deployment.deployment_id,
            self.deployment.correlation_id,
            event_type,
            stage=self.stage_name,
            message=message,
            data=data or {},
            dedupe_key=dedupe_key,
        )

    def context(self, attempt: int) -> StageContext:
        dep_id = self.deployment.deployment_id

        def register(data: dict[str, Any]) -> None:
            self.store.compensations.register(dep_id, self.stage_name, data)

        return StageContext(
            deployment=self.deployment,
            loaded=self.loaded,
            environment=self.environment,
            home=self.home,
            kind=self.kind,
            attempt=attempt,
            _emit=lambda kind, message, data: self.emit(kind, message, data),
            _register=register,
            _cancel=self.cancel,
        )


def run_stage(run: StageRun) -> dict[str, Any]:
    """Run the stage once to completion; return {"status", "error"}. Never raises for a
    stage's own failure: failures are results, recorded in the store and the log."""
    dep_id = run.deployment.deployment_id
    done = _finished_before(run)
    if done is not None:
        return done
    stage_cls = registry.get(run.stage_name)
    skip_reason = _skip_reason(stage_cls, run)
    if stage_cls is None or skip_reason is not None:
        run.store.stage_runs.finish(dep_id, run.stage_name, "skipped", error=skip_reason)
        run.emit(ev.STAGE_SKIPPED, skip_reason or "", dedupe_key=f"{run.stage_name}:skipped")
        return {"status": "skipped", "error": None}
    record = run.store.stage_runs.start(dep_id, run.stage_name)
    run.emit(
        ev.STAGE_STARTED,
        f"attempt {record.attempts}",
        {"attempt": record.attempts},
        dedupe_key=f"{run.stage_name}:started:{record.attempts}",
    )
    stage = stage_cls()
    try:
        outcome = _attempts(run, stage, record.attempts)
    except StageCancelledError as exc:
        return _fail(
            run, "cancelled" if not isinstance(exc, StageTimeoutError) else "failed", str(exc)
        )
    except Exception as exc:
        return _fail(run, "failed", _describe(exc))
    return _succeed(run, stage, outcome)


def _finished_before(run: StageRun) -> dict[str, Any] | None:
    """A stage recorded as finished is not run again (a crash after it finished)."""
    record = run.previous
    if record is not None and record.status in {"succeeded", "skipped"}:
        return {"status": record.status, "error": None}
    if record is not None and record.status in {"failed", "cancelled"}:
        return {"status": record.status, "error": record.error}
    return None


def _skip_reason(stage_cls: type[Stage] | None, run: StageRun) -> str | None:
    if stage_cls is None:
        return f"no '{run.stage_name}' component is installed in this version of shipway"
    if not stage_cls().configured(run.environment):
        return f"{stage_cls.section or run.stage_name} is not configured in the manifest"
    return None


def _attempts(run: StageRun, stage: Stage, first_attempt: int) -> StageOutcome:
    attempt = first_attempt - 1

    def before_sleep(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        run.emit(
            ev.STAGE_RETRYING,
            f"attempt {state.attempt_number} failed: {error}",
            {"attempt": state.attempt_number},
        )

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(run.policy.retries + 1),
        wait=tenacity.wait_exponential(multiplier=run.policy.backoff, max=60),
        retry=tenacity.retry_if_not_exception_type((StageError, StageCancelledError)),
        before_sleep=before_sleep,
        sleep=lambda seconds: _interruptible_sleep(run.cancel, seconds),
        reraise=True,
    )
    for try_ in retrying:
        with try_:
            attempt += 1
            return _call_with_timeout(stage, run.context(attempt), run.policy.timeout, run.cancel)
    raise AssertionError("unreachable: tenacity either returns or raises")


def _interruptible_sleep(cancel: threading.Event, seconds: float) -> None:
    if cancel.wait(seconds):
        raise StageCancelledError("deployment cancelled while waiting to retry")


def _call_with_timeout(
    stage: Stage, ctx: StageContext, timeout: float, cancel: threading.Event
) -> StageOutcome:
    """Run the stage in a thread so a timeout can interrupt the wait for it. A stage that
    ignores `ctx.cancelled()` may keep running: it gets CANCEL_GRACE seconds to stop."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = stage.run(ctx)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"stage-{stage.name}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        cancel.set()
        thread.join(CANCEL_GRACE)
        raise StageTimeoutError(f"stage timed out after {timeout:g}s")
    if "error" in box:
        raise box["error"]
    result = box.get("result")
    return result if isinstance(result, StageOutcome) else StageOutcome()


def _succeed(run: StageRun, stage: Stage, outcome: StageOutcome) -> dict[str, Any]:
    dep_id = run.deployment.deployment_id
    status = outcome.status
    # The outputs become DeploymentContext.component_states[stage] for later stages.
    run.store.stage_runs.finish(dep_id, run.stage_name, status, outputs=outcome.outputs)
    if status == "skipped":
        run.emit(ev.STAGE_SKIPPED, outcome.message, dedupe_key=f"{run.stage_name}:skipped")
    else:
        completed = ev.STAGE_COMPLETION_EVENTS.get(run.stage_name, stage.completed_event)
        run.emit(
            completed,
            outcome.message,
            {"outputs": outcome.outputs},
            dedupe_key=f"{run.stage_name}:completed",
        )
    return {"status": status, "error": None}


def _fail(run: StageRun, status: StageStatus, error: str) -> dict[str, Any]:
    run.store.stage_runs.finish(run.deployment.deployment_id, run.stage_name, status, error=error)
    run.emit(ev.STAGE_FAILED, error, {"status": status}, dedupe_key=f"{run.stage_name}:failed")
    return {"status": status, "error": error}


def _describe(exc: BaseException) -> str:
    if isinstance(exc, StageError):
        return str(exc)
    frame = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" (at {frame[0].filename}:{frame[0].lineno})" if frame else ""
    return f"{type(exc).__name__}: {exc}{where}"
