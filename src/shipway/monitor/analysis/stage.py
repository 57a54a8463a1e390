"""The pipeline's `observe` stage: post-release analysis (`monitoring.analysis`).

After the release (and its tests), the stage watches the new release for `duration`,
then compares each metric with the previous release over the equally long window
before the switch (`monitor/analysis/judge.py`). It emits ANALYSIS_COMPLETED with the
score and every metric's verdict, and records the analysis in the store.

- pass: the release stays.
- marginal (score between `marginal_score` and `pass_score`): the release stays, and the
  event and the stage's message carry the warning.
- fail: StageError, so the saga re-activates the previous release (the release stage's
  compensation), and the manifest digest is blocked in this environment, as after
  `shipway rollback`: deploying it again needs `--force`.
- inconclusive (a metric without data under `on_no_data: inconclusive`): StageError
  and the same rollback, but the digest is not blocked: nothing showed it is bad.

With `rollback: false` a failed or inconclusive analysis is reported and the release
stays. A first release (no previous one) and a rollback deployment are not analysed:
the stage is skipped and says why. See docs/decisions/0033-post-release-analysis.md.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from shipway.errors import InputError, StageError
from shipway.manifest import ResolvedEnvironment
from shipway.manifest.monitoring import AnalysisSpec
from shipway.monitor.analysis.judge import AnalysisResult, judge_metric, score
from shipway.monitor.analysis.windows import Window, analysis_step, samples, windows
from shipway.monitor.query import instant_query
from shipway.orchestrator.events import STAGE_COMPLETION_EVENTS
from shipway.orchestrator.names import lease_key
from shipway.orchestrator.stages import Stage, StageContext, StageOutcome, registry
from shipway.store import Store
from shipway.store.records import ReleaseRecord
from shipway.workspace import Workspace

ANALYSIS_STARTED = "ANALYSIS_STARTED"
#: Waited after the window closes, so that the last scrape inside it has been stored.
SETTLE_SECONDS = 1.5


@contextlib.contextmanager
def _stage_store(ctx: StageContext) -> Iterator[Store]:
    """The agent's open store when running there; else the workspace's, opened here."""
    from shipway.runtime.host import current_host

    try:
        store = current_host().store
    except StageError:
        pass
    else:
        yield store
        return
    with Store.open(Workspace.at(ctx.home).state_url) as opened:
        yield opened


class ObserveStage(Stage):
    """MonitoringDashboard's post-release analysis as a pipeline stage."""

    name = "observe"
    completed_event = STAGE_COMPLETION_EVENTS["observe"]
    section = "monitoring"

    def configured(self, environment: ResolvedEnvironment) -> bool:
        analysis = environment.monitoring.analysis
        return analysis is not None and bool(analysis.metrics)

    def describe(self, environment: ResolvedEnvironment) -> list[str]:
        spec = _spec(environment)
        names = ", ".join(m.name for m in spec.metrics)
        return [
            f"watch the new release for {spec.duration.text} and compare {names} with the "
            f"previous release (pass at {spec.pass_score:g}, marginal at {spec.marginal_score:g})"
        ]

    def run(self, ctx: StageContext) -> StageOutcome:
        if ctx.kind == "rollback":
            return StageOutcome(
                "skipped", "a rollback returns to a release that served before: not analysed"
            )
        spec = _spec(ctx.environment)
        env = ctx.environment.name
        with _stage_store(ctx) as store:
            new = _new_release(ctx, store)
            previous = _previous_release(store, new)
            if previous is None or new.activated_at is None or previous.activated_at is None:
                return StageOutcome(
                    "skipped",
                    f"{new.id} is the first release of {env}: there is no previous release to "
                    "compare with, so no analysis ran (no verdict)",
                )
            _check_queries(ctx, store, spec, new.id)
            step = analysis_step(ctx.environment.monitoring)
            new_window, baseline = windows(
                spec,
                step,
                new_release=new.id,
                observe_from=time.time(),
                previous_release=previous.id,
                switched_at=new.activated_at.timestamp(),
            )
            ctx.emit(
                ANALYSIS_STARTED,
                f"watching {new.id} for {spec.duration.text} against {previous.id}",
                release=new.id,
                baseline_release=previous.id,
                windows={"new": new_window.to_dict(), "baseline": baseline.to_dict()},
            )
            ctx.sleep(max(0.0, new_window.end - time.time()) + SETTLE_SECONDS)
            result = _analyse(ctx, store, spec, new_window, baseline)
            outputs = _outputs(result, new_window, baseline)
            _record(ctx, store, result, outputs)
            if result.verdict in ("pass", "marginal") or not spec.rollback:
                return StageOutcome(message=_message(result), outputs=outputs)
            ctx.emit(self.completed_event, result.summary(), outputs=outputs)
            if result.verdict == "fail":
                _block_digest(ctx, store, previous, result)
        raise StageError(result.summary())


def _spec(environment: ResolvedEnvironment) -> AnalysisSpec:
    spec = environment.monitoring.analysis
    if spec is None:
        raise StageError("monitoring.analysis is not configured")
    return spec


def _new_release(ctx: StageContext, store: Store) -> ReleaseRecord:
    state = ctx.deployment.component_states.get("release") or {}
    release_id = state.get("release")
    if not release_id:
        raise StageError(
            "the observe stage analyses the release the release stage made, and there is none"
        )
    return store.releases.get(str(release_id))


def _previous_release(store: Store, new: ReleaseRecord) -> ReleaseRecord | None:
    """The release that served before `new`: the newest kept one activated before it."""
    if new.activated_at is None:
        return None
    candidates = [
        (r.activated_at, r)
        for r in store.releases.list(new.project, new.environment)
        if r.id != new.id and r.activated_at is not None and r.activated_at <= new.activated_at
    ]
    return max(candidates, key=lambda pair: pair[0], default=(None, None))[1]


def _check_queries(ctx: StageContext, store: Store, spec: AnalysisSpec, release: str) -> None:
    """Refuse a query that does not parse now, rather than after watching for `duration`."""
    for metric in spec.metrics:
        try:
            instant_query(
                store,
                ctx.loaded.manifest.project,
                ctx.environment.name,
                metric.query,
                time.time(),
                matchers={"release": release},
                monitoring=ctx.environment.monitoring,
            )
        except InputError as exc:
            raise StageError(f"analysis metric {metric.name!r}: {exc}") from exc


def _analyse(
    ctx: StageContext, store: Store, spec: AnalysisSpec, new: Window, baseline: Window
) -> AnalysisResult:
    project, env = ctx.loaded.manifest.project, ctx.environment.name
    monitoring = ctx.environment.monitoring
    verdicts = []
    for metric in spec.metrics:
        ctx.check_cancelled()
        verdicts.append(
            judge_metric(
                metric,
                samples(store, project, env, metric.query, new, monitoring),
                samples(store, project, env, metric.query, baseline, monitoring),
                confidence=spec.confidence,
                on_no_data=spec.on_no_data,
            )
        )
    return score(spec, verdicts)


def _outputs(result: AnalysisResult, new: Window, baseline: Window) -> dict[str, Any]:
    """What ANALYSIS_COMPLETED carries and `component_states["observe"]` holds."""
    return {
        **result.to_dict(),
        "release": new.release,
        "baseline_release": baseline.release,
        "windows": {"new": new.to_dict(), "baseline": baseline.to_dict()},
    }


def _record(
    ctx: StageContext, store: Store, result: AnalysisResult, outputs: dict[str, Any]
) -> None:
    store.analyses.record_analysis(
        deployment_id=ctx.deployment.deployment_id,
        project=ctx.loaded.manifest.project,
        environment=ctx.environment.name,
        release_id=outputs["release"],
        baseline_release_id=outputs["baseline_release"],
        verdict=result.verdict,
        score=result.score,
        reason=result.reason,
        metrics=outputs["metrics"],
        windows=outputs["windows"],
    )


def _message(result: AnalysisResult) -> str:
    if result.verdict == "marginal":
        return "WARNING: " + result.summary() + "; the release is kept"
    if result.verdict in ("fail", "inconclusive"):
        return f"WARNING: {result.summary()}; monitoring.analysis.rollback is false: kept"
    return result.summary()


def _block_digest(
    ctx: StageContext, store: Store, previous: ReleaseRecord, result: AnalysisResult
) -> None:
    """Refuse this manifest in this environment from now on (until `--force`), the way a
    `shipway rollback` does; not when the previous release came from the same manifest
    (only the code changed), which would block going back to it."""
    digest = ctx.deployment.manifest_digest
    if previous.manifest_digest == digest:
        ctx.emit(
            "ANALYSIS_DIGEST_KEPT",
            "the previous release came from the same manifest: its digest is not blocked",
        )
        return
    score_text = "no score" if result.score is None else f"score {result.score:.0f}"
    store.environments.block(
        lease_key(ctx.loaded.manifest.project, ctx.environment.name),
        digest,
        ctx.deployment.deployment_id,
        f"rolled back from deployment {ctx.deployment.deployment_id} by its post-release "
        f"analysis ({score_text}: {result.reason})",
    )


registry.register(ObserveStage)
