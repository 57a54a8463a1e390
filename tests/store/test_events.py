"""The event log: append, dedupe, read from a cursor, and cursor completeness under
concurrent appenders."""

from __future__ import annotations

import threading
import time

import pytest

from shipway.errors import StoreError
from shipway.store import DeploymentRecord, NewEvent, Store

from .conftest import new_deployment


def test_append_returns_the_stored_event(store: Store, deployment: DeploymentRecord) -> None:
    event = store.events.append(
        deployment.id,
        "corr-1",
        "STAGE_STARTED",
        stage="validate",
        message="validating 4 checks",
        data={"checks": ["disk", "ports"], "n": 4},
    )
    assert event is not None
    assert event.id >= 1 and event.created_at.utcoffset() is not None
    assert store.events.read() == [event]
    assert (event.type, event.stage, event.data) == (
        "STAGE_STARTED",
        "validate",
        {"checks": ["disk", "ports"], "n": 4},
    )


def test_defaults(store: Store, deployment: DeploymentRecord) -> None:
    event = store.events.append(deployment.id, "c", "PING")
    assert event is not None
    assert (event.stage, event.message, event.data, event.dedupe_key) == (None, "", {}, None)


def test_ids_increase_and_reads_follow_the_cursor(
    store: Store, deployment: DeploymentRecord
) -> None:
    ids = [store.events.append(deployment.id, "c", f"E{i}").id for i in range(5)]  # type: ignore[union-attr]
    assert ids == sorted(ids) and len(set(ids)) == 5
    assert [e.id for e in store.events.read(after=ids[1])] == ids[2:]
    assert [e.id for e in store.events.read(after=ids[1], limit=2)] == ids[2:4]
    assert store.events.read(after=ids[-1]) == []
    assert store.events.last_id() == ids[-1]


def test_read_and_last_id_per_deployment(store: Store, deployment: DeploymentRecord) -> None:
    other = new_deployment(store, "dep-000002")
    a1 = store.events.append(deployment.id, "c", "A")
    b1 = store.events.append(other.id, "c", "B")
    a2 = store.events.append(deployment.id, "c", "A")
    assert a1 and b1 and a2
    assert [e.id for e in store.events.read(deployment_id=deployment.id)] == [a1.id, a2.id]
    assert [e.id for e in store.events.read(a1.id, deployment_id=deployment.id)] == [a2.id]
    assert store.events.last_id(deployment.id) == a2.id
    assert store.events.last_id(other.id) == b1.id
    assert store.events.last_id("nobody") == 0


def test_empty_log(store: Store) -> None:
    assert store.events.last_id() == 0
    assert store.events.read() == []
    assert store.events.append_many([]) == 0


def test_dedupe_key_is_used_once_per_deployment(store: Store, deployment: DeploymentRecord) -> None:
    other = new_deployment(store, "dep-000002")
    first = store.events.append(deployment.id, "c", "STAGE_DONE", dedupe_key="validate:1")
    assert first is not None
    again = store.events.append(deployment.id, "c", "STAGE_DONE", dedupe_key="validate:1")
    assert again is None
    elsewhere = store.events.append(other.id, "c", "STAGE_DONE", dedupe_key="validate:1")
    assert elsewhere is not None
    assert store.events.append(deployment.id, "c", "X") is not None  # no key: never deduped
    assert store.events.append(deployment.id, "c", "X") is not None
    assert [e.dedupe_key for e in store.events.read(deployment_id=deployment.id)] == [
        "validate:1",
        None,
        None,
    ]


def test_append_many_is_one_transaction_and_counts_new_events(
    store: Store, deployment: DeploymentRecord
) -> None:
    store.events.append(deployment.id, "c", "OLD", dedupe_key="k1")
    batch = [
        NewEvent(deployment.id, "c", "A", dedupe_key="k1"),  # already used
        NewEvent(deployment.id, "c", "B", stage="scan", data={"x": 1}, dedupe_key="k2"),
        NewEvent(deployment.id, "c", "C", dedupe_key="k2"),  # duplicate inside the batch
        NewEvent(deployment.id, "c", "D", message="done"),
    ]
    assert store.events.append_many(batch) == 2
    assert [e.type for e in store.events.read()] == ["OLD", "B", "D"]


def test_append_many_is_all_or_nothing(store: Store, deployment: DeploymentRecord) -> None:
    batch = [NewEvent(deployment.id, "c", "A"), NewEvent("no-such-deployment", "c", "B")]
    with pytest.raises(StoreError, match="append events failed"):
        store.events.append_many(batch)
    assert store.events.read() == []


def test_events_need_an_existing_deployment(store: Store) -> None:
    with pytest.raises(StoreError):
        store.events.append("no-such-deployment", "c", "A")


def test_the_log_has_no_update_or_delete_api(store: Store) -> None:
    public = {name for name in dir(store.events) if not name.startswith("_")}
    assert public == {"append", "append_many", "read", "last_id"}


@pytest.mark.slow
def test_cursor_reader_never_misses_an_event_under_concurrent_appenders(
    store: Store, deployment: DeploymentRecord
) -> None:
    writers, per_writer = 8, 50
    finished = threading.Event()
    seen: list[int] = []
    failures: list[BaseException] = []

    def append(n: int) -> None:
        try:
            for i in range(per_writer):
                store.events.append(deployment.id, "c", "TICK", data={"writer": n, "i": i})
        except BaseException as e:  # pragma: no cover - reported below
            failures.append(e)

    def follow() -> None:
        cursor, deadline = 0, time.monotonic() + 120
        while time.monotonic() < deadline:
            done = finished.is_set()  # read before polling: the last poll sees everything
            batch = store.events.read(after=cursor, limit=7)
            seen.extend(e.id for e in batch)
            if batch:
                cursor = batch[-1].id
            elif done:
                return
            else:
                time.sleep(0.0005)  # a follower polls; it does not spin

    reader = threading.Thread(target=follow)
    threads = [threading.Thread(target=append, args=(n,)) for n in range(writers)]
    reader.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    finished.set()
    reader.join()
    assert failures == []
    every_id = [e.id for e in store.events.read(limit=10_000)]
    assert len(every_id) == writers * per_writer
    assert seen == every_id  # each id exactly once, ascending, none skipped
