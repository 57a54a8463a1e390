"""Executor heartbeats: who is alive to run deployments."""

from __future__ import annotations

import time

from shipway.store import Store


def test_heartbeat_live_and_remove(store: Store) -> None:
    store.executors.heartbeat("w1", kind="worker", host="h1", pid=10, version="0.1.0")
    first = store.executors.live(within=5)[0]
    assert (first.id, first.kind, first.host, first.pid) == ("w1", "worker", "h1", 10)
    time.sleep(0.05)
    store.executors.heartbeat("w1", kind="worker", host="h1", pid=10, version="0.1.0")
    again = store.executors.live(within=5)[0]
    assert again.started_at == first.started_at  # same process: started_at is kept
    assert again.heartbeat_at > first.heartbeat_at
    store.executors.heartbeat("w1", kind="worker", host="h1", pid=11, version="0.1.0")
    assert store.executors.live(within=5)[0].started_at > first.started_at  # a new process
    assert store.executors.live(within=0.0) == []
    store.executors.remove("w1")
    assert store.executors.live(within=60) == []
