"""Compensations of the rollback saga: registered in order, run newest first."""

from __future__ import annotations

import pytest

from shipway.errors import NotFoundError
from shipway.store import DeploymentRecord, Store

from .conftest import new_deployment


def test_register_and_pending_newest_first(store: Store, deployment: DeploymentRecord) -> None:
    ids = [
        store.compensations.register(deployment.id, stage, {"undo": stage})
        for stage in ["provision", "configure", "release"]
    ]
    assert ids == sorted(ids)
    pending = store.compensations.pending(deployment.id)
    assert [c.stage for c in pending] == ["release", "configure", "provision"]
    assert pending[0].data == {"undo": "release"} and pending[0].status == "registered"
    assert pending[0].finished_at is None and pending[0].registered_at.tzinfo is not None


def test_mark_settles_a_compensation(store: Store, deployment: DeploymentRecord) -> None:
    first = store.compensations.register(deployment.id, "provision", {"destroy": ["vm-1"]})
    second = store.compensations.register(deployment.id, "release", {"activate": "r41"})
    done = store.compensations.mark(second, "done")
    assert done.status == "done" and done.finished_at is not None and done.error is None
    failed = store.compensations.mark(first, "failed", "vm-1 is gone")
    assert failed.error == "vm-1 is gone"
    assert store.compensations.pending(deployment.id) == []
    assert [c.id for c in store.compensations.list(deployment.id)] == [first, second]
    retried = store.compensations.mark(first, "registered")
    assert retried.finished_at is None
    assert [c.id for c in store.compensations.pending(deployment.id)] == [first]


def test_compensations_belong_to_their_deployment(
    store: Store, deployment: DeploymentRecord
) -> None:
    other = new_deployment(store, "dep-000002")
    store.compensations.register(deployment.id, "release", {})
    store.compensations.register(other.id, "release", {})
    assert len(store.compensations.list(deployment.id)) == 1
    assert len(store.compensations.pending(other.id)) == 1


def test_mark_missing_or_bad_status(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.compensations.mark(424242, "done")
    with pytest.raises(ValueError, match="compensation status"):
        store.compensations.mark(1, "finished")  # type: ignore[arg-type]
