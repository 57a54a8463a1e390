"""Stage run checkpoints: start (with attempts), finish, status, and listing order."""

from __future__ import annotations

import pytest

from shipway.errors import StoreError
from shipway.store import DeploymentRecord, Store


def test_start_creates_a_running_row(store: Store, deployment: DeploymentRecord) -> None:
    run = store.stage_runs.start(deployment.id, "validate")
    assert (run.deployment_id, run.stage, run.status, run.attempts) == (
        deployment.id,
        "validate",
        "running",
        1,
    )
    assert run.started_at is not None and run.finished_at is None
    assert run.error is None and run.outputs == {}


def test_restarting_counts_attempts_and_clears_the_last_outcome(
    store: Store, deployment: DeploymentRecord
) -> None:
    first = store.stage_runs.start(deployment.id, "provision")
    store.stage_runs.finish(
        deployment.id, "provision", "failed", error="quota exceeded", outputs={"made": ["vm-1"]}
    )
    second = store.stage_runs.start(deployment.id, "provision")
    assert second.attempts == 2 and second.status == "running"
    assert second.error is None and second.finished_at is None and second.outputs == {}
    assert first.started_at is not None and second.started_at is not None
    assert second.started_at >= first.started_at


def test_finish_records_outcome_and_outputs(store: Store, deployment: DeploymentRecord) -> None:
    store.stage_runs.start(deployment.id, "release")
    done = store.stage_runs.finish(
        deployment.id, "release", "succeeded", outputs={"release": "r42", "port": 8081}
    )
    assert done.status == "succeeded" and done.finished_at is not None
    assert done.outputs == {"release": "r42", "port": 8081}
    kept = store.stage_runs.finish(deployment.id, "release", "succeeded")
    assert kept.outputs == {"release": "r42", "port": 8081}  # no outputs given: kept


def test_finish_without_start_records_a_stage_that_never_ran(
    store: Store, deployment: DeploymentRecord
) -> None:
    skipped = store.stage_runs.finish(deployment.id, "scan", "skipped", error="no plugin")
    assert (skipped.status, skipped.attempts, skipped.error) == ("skipped", 0, "no plugin")
    assert skipped.started_at is None and skipped.finished_at is not None
    assert skipped.outputs == {}


def test_set_status_creates_or_updates(store: Store, deployment: DeploymentRecord) -> None:
    skipped = store.stage_runs.set_status(deployment.id, "scan", "skipped")
    assert (skipped.status, skipped.attempts, skipped.started_at) == ("skipped", 0, None)
    store.stage_runs.start(deployment.id, "release")
    store.stage_runs.finish(deployment.id, "release", "succeeded")
    undone = store.stage_runs.set_status(deployment.id, "release", "compensation_failed", "boom")
    assert (undone.status, undone.attempts, undone.error) == ("compensation_failed", 1, "boom")
    assert store.stage_runs.set_status(deployment.id, "release", "compensated").error == "boom"


def test_unknown_status_and_unknown_deployment(store: Store, deployment: DeploymentRecord) -> None:
    with pytest.raises(ValueError, match="stage status"):
        store.stage_runs.set_status(deployment.id, "scan", "weird")  # type: ignore[arg-type]
    with pytest.raises(StoreError):
        store.stage_runs.start("no-such-deployment", "validate")


def test_list_in_start_order(store: Store, deployment: DeploymentRecord) -> None:
    for stage in ["validate", "provision", "scan", "configure"]:
        store.stage_runs.start(deployment.id, stage)
    store.stage_runs.set_status(deployment.id, "observe", "pending")
    store.stage_runs.set_status(deployment.id, "complete", "skipped")
    assert [r.stage for r in store.stage_runs.list(deployment.id)] == [
        "validate",
        "provision",
        "scan",
        "configure",
        "complete",
        "observe",
    ]
    assert store.stage_runs.list("nobody") == []
