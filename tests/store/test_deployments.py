"""The deployments repository: create, find by id or prefix, list, and lifecycle updates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from shipway.errors import NotFoundError, StoreError
from shipway.store import DeploymentRecord, Store

from .conftest import new_deployment

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_create_and_get_round_trip_every_field(store: Store) -> None:
    record = DeploymentRecord(
        id="0123456789abcdef",
        project="shop",
        environment="prod",
        kind="rollback",
        status="queued",
        manifest_path="/srv/shop/shipway.yaml",
        manifest_digest="sha256:abc",
        manifest={"name": "shop", "environments": {"prod": {"replicas": 3}}, "on": True},
        pipeline=[["validate"], ["provision"], ["configure", "scan"], ["release"]],
        correlation_id="corr-1",
        user="ada",
        created_at=T0,
        error=None,
        context={"component_states": {}, "n": 1.5},
        rollback_from="fedcba9876543210",
        force=True,
        wait_seconds=90.5,
        cancel_requested=False,
        approved_by=None,
        approved_at=None,
        executor_id="agent-1",
    )
    assert store.deployments.create(record) == record
    fetched = store.deployments.get(record.id)
    assert fetched == record
    assert fetched.created_at.tzinfo is not None
    assert fetched.created_at.utcoffset() == timedelta(0)


def test_timestamps_in_other_zones_come_back_in_utc(store: Store) -> None:
    plus_two = datetime(2025, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    new_deployment(store, created_at=plus_two)
    assert store.deployments.get("dep-000001").created_at == T0
    assert store.deployments.get("dep-000001").created_at.tzinfo == UTC


def test_naive_timestamps_are_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="naive datetime"):
        new_deployment(store, created_at=datetime(2025, 1, 1))


def test_duplicate_id_is_refused(store: Store) -> None:
    new_deployment(store)
    with pytest.raises(StoreError, match="already exists"):
        new_deployment(store)


def test_unknown_kind_or_status_is_a_programming_error(store: Store) -> None:
    with pytest.raises(ValueError, match="kind"):
        new_deployment(store, kind="explode")
    with pytest.raises(ValueError, match="status"):
        store.deployments.set_status("whatever", "exploded")  # type: ignore[arg-type]


def test_get_missing_raises_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match="no deployment 'nope'"):
        store.deployments.get("nope")


def test_get_by_unique_prefix(store: Store) -> None:
    new_deployment(store, "a1b2c3d4e5f6")
    new_deployment(store, "a1b2c3ffffff")
    assert store.deployments.get("a1b2c3d4").id == "a1b2c3d4e5f6"
    with pytest.raises(NotFoundError, match="ambiguous: matches a1b2c3d4e5f6, a1b2c3ffffff"):
        store.deployments.get("a1b2c3")
    with pytest.raises(NotFoundError):
        store.deployments.get("a1b2c")  # shorter than 6 characters: exact ids only


def test_prefix_wildcards_are_literal(store: Store) -> None:
    new_deployment(store, "abcdef_123")
    with pytest.raises(NotFoundError):
        store.deployments.get("abc%ef")
    with pytest.raises(NotFoundError):
        store.deployments.get("abcde__")
    assert store.deployments.get("abcdef_").id == "abcdef_123"


def test_list_filters_and_orders_newest_first(store: Store) -> None:
    for i, (env, status) in enumerate(
        [("dev", "succeeded"), ("prod", "failed"), ("dev", "running"), ("dev", "failed")]
    ):
        new_deployment(
            store, f"dep-{i:06d}", environment=env, status=status, created_at=T0 + timedelta(i)
        )
    new_deployment(store, "other-000", project="blog", created_at=T0 + timedelta(10))
    ids = lambda records: [r.id for r in records]  # noqa: E731
    assert ids(store.deployments.list()) == [
        "other-000",
        "dep-000003",
        "dep-000002",
        "dep-000001",
        "dep-000000",
    ]
    assert ids(store.deployments.list(project="shop", environment="dev")) == [
        "dep-000003",
        "dep-000002",
        "dep-000000",
    ]
    assert ids(store.deployments.list(statuses=["failed"])) == ["dep-000003", "dep-000001"]
    assert ids(store.deployments.list(project="shop", limit=2)) == ["dep-000003", "dep-000002"]
    assert store.deployments.list(project="nobody") == []


def test_set_status_keeps_timestamps_honest(store: Store, deployment: DeploymentRecord) -> None:
    running = store.deployments.set_status(deployment.id, "running")
    assert running.status == "running" and running.started_at is not None
    assert running.finished_at is None
    waiting = store.deployments.set_status(deployment.id, "awaiting_approval")
    again = store.deployments.set_status(deployment.id, "running")
    assert waiting.started_at == again.started_at == running.started_at
    failed = store.deployments.set_status(deployment.id, "failed", error="release unhealthy")
    assert failed.finished_at is not None and failed.finished_at >= running.started_at
    assert failed.error == "release unhealthy" and failed.terminal
    rolled_back = store.deployments.set_status(deployment.id, "rolled_back")
    assert rolled_back.error == "release unhealthy"
    assert rolled_back.finished_at is not None
    assert store.deployments.get(deployment.id) == rolled_back


def test_updates_of_a_missing_deployment_raise_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.deployments.set_status("ghost", "running")
    with pytest.raises(NotFoundError):
        store.deployments.set_context("ghost", {})
    with pytest.raises(NotFoundError):
        store.deployments.request_cancel("ghost")
    with pytest.raises(NotFoundError):
        store.deployments.approve("ghost", "ada")
    with pytest.raises(NotFoundError):
        store.deployments.set_executor("ghost", "agent")


def test_context_cancel_approval_and_executor(store: Store, deployment: DeploymentRecord) -> None:
    context = {"deployment_id": deployment.id, "shared_metadata": {"release": "r7"}}
    assert store.deployments.set_context(deployment.id, context).context == context
    assert store.deployments.request_cancel(deployment.id).cancel_requested is True
    approved = store.deployments.approve(deployment.id, "grace")
    assert approved.approved_by == "grace" and approved.approved_at is not None
    assert store.deployments.set_executor(deployment.id, "worker-2").executor_id == "worker-2"
    final = store.deployments.get(deployment.id)
    assert (final.context, final.cancel_requested, final.executor_id) == (
        context,
        True,
        "worker-2",
    )


def test_latest(store: Store) -> None:
    for i, status in enumerate(["succeeded", "succeeded", "failed", "succeeded", "running"]):
        new_deployment(store, f"dep-{i:06d}", status=status, created_at=T0 + timedelta(hours=i))
    new_deployment(store, "dev-000009", environment="dev", status="succeeded", created_at=T0)
    latest = store.deployments.latest
    assert latest("shop", "staging").id == "dep-000003"  # type: ignore[union-attr]
    assert latest("shop", "staging", statuses=["running"]).id == "dep-000004"  # type: ignore[union-attr]
    assert latest("shop", "staging", before_id="dep-000003").id == "dep-000001"  # type: ignore[union-attr]
    assert latest("shop", "staging", before_id="dep-000000") is None
    assert latest("shop", "staging", statuses=["cancelled"]) is None
    assert latest("shop", "prod") is None
    with pytest.raises(NotFoundError):
        latest("shop", "staging", before_id="ghost")
