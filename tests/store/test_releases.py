"""Releases and published service process states, on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from shipway.errors import NotFoundError
from shipway.store import Store
from shipway.store.records import ServiceProcessRecord, utc_now


def _create(store: Store, deployment: str, environment: str = "dev", digest: str = "sha256:a"):
    return store.releases.create(
        project="notes",
        environment=environment,
        deployment_id=deployment,
        manifest_digest="sha256:m",
        artifact_digest=digest,
        services={"api": {"cwd": "/srv/x"}},
        executor_id="local-agent",
    )


def test_numbers_count_per_environment_even_when_created_at_once(store: Store) -> None:
    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(lambda i: _create(store, f"d{i}"), range(8)))
    assert sorted(r.number for r in made) == list(range(1, 9))
    assert {r.id for r in made} == {f"notes-dev-r{n}" for n in range(1, 9)}
    other = _create(store, "s1", environment="staging")
    assert (other.number, other.id, other.status) == (1, "notes-staging-r1", "staged")


def test_activate_swaps_the_active_release_and_remembers_the_previous(store: Store) -> None:
    r1, r2, r3 = (_create(store, f"d{i}") for i in range(3))
    assert store.releases.active("notes", "dev") is None
    store.releases.activate(r1.id)
    store.releases.activate(r2.id)
    assert store.releases.active("notes", "dev").id == r2.id  # type: ignore[union-attr]
    assert store.releases.get(r1.id).status == "standby"
    assert store.releases.previous("notes", "dev").id == r1.id  # type: ignore[union-attr]
    store.releases.set_status(r3.id, "failed", error="never healthy")
    assert store.releases.get(r3.id).error == "never healthy"
    store.releases.activate(r1.id)  # a rollback re-activates a kept release
    statuses = {r.id: r.status for r in store.releases.list("notes", "dev")}
    assert statuses == {r1.id: "active", r2.id: "standby", r3.id: "failed"}
    assert store.releases.previous("notes", "dev").id == r2.id  # type: ignore[union-attr]
    assert [r.number for r in store.releases.list("notes", "dev")] == [3, 2, 1]


def test_unknown_release_and_bad_status(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.releases.get("notes-dev-r9")
    with pytest.raises(NotFoundError):
        store.releases.activate("notes-dev-r9")
    r1 = _create(store, "d1")
    with pytest.raises(ValueError, match="release status"):
        store.releases.set_status(r1.id, "exploded")  # type: ignore[arg-type]


def test_service_process_states_are_upserted_and_removed(store: Store) -> None:
    record = ServiceProcessRecord(
        name="notes-dev-r1/api",
        project="notes",
        environment="dev",
        service="api",
        release_id="notes-dev-r1",
        executor_id="local-agent",
        state="running",
        pid=100,
        restarts=0,
        consecutive_crashes=0,
        last_exit=None,
        updated_at=utc_now(),
    )
    store.processes.publish(record)
    store.processes.publish(
        ServiceProcessRecord(
            **{**record.__dict__, "state": "crash_loop", "restarts": 3, "last_exit": "code 1"}
        )
    )
    [found] = store.processes.list(project="notes", environment="dev")
    assert (found.state, found.restarts, found.last_exit) == ("crash_loop", 3, "code 1")
    assert store.processes.list(executor_id="other") == []
    store.processes.remove(record.name)
    assert store.processes.list() == []
