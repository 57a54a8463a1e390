"""Environment leases: acquire, renew, expire, take over, release, and races between
threads and processes."""

from __future__ import annotations

import threading
import time

import pytest

from shipway.errors import LeaseHeldError
from shipway.store import LeaseRecord, Store

from .conftest import run_workers

KEY = "shop/prod"


def test_acquire_a_free_lease(store: Store) -> None:
    lease = store.leases.acquire(KEY, "dep-a", 30, owner="agent-1")
    assert (lease.key, lease.holder, lease.owner) == (KEY, "dep-a", "agent-1")
    assert 29 < lease.expires_in() <= 30.5
    assert lease.acquired_at.tzinfo is not None
    assert store.leases.get(KEY) == lease


def test_a_held_lease_names_its_holder(store: Store) -> None:
    store.leases.acquire(KEY, "dep-a", 30)
    with pytest.raises(LeaseHeldError) as info:
        store.leases.acquire(KEY, "dep-b", 30)
    assert info.value.environment == KEY
    assert info.value.holder == "dep-a"
    assert "dep-a" in str(info.value) and "expires in 30s" in str(info.value)
    assert store.leases.get(KEY).holder == "dep-a"  # type: ignore[union-attr]


def test_the_holder_reacquiring_renews_and_sets_owner(store: Store) -> None:
    first = store.leases.acquire(KEY, "dep-a", 5)
    again = store.leases.acquire(KEY, "dep-a", 60, owner="worker-2")
    assert again.acquired_at == first.acquired_at
    assert again.expires_at > first.expires_at
    assert again.owner == "worker-2"
    kept = store.leases.acquire(KEY, "dep-a", 60)
    assert kept.owner == "worker-2"  # no owner given: the known one stays


def test_an_expired_lease_is_taken_over(store: Store) -> None:
    store.leases.acquire(KEY, "dep-a", 0.2, owner="agent-1")
    time.sleep(0.3)
    taken = store.leases.acquire(KEY, "dep-b", 30)
    assert (taken.holder, taken.owner) == ("dep-b", None)
    assert taken.expires_in() > 29
    assert store.leases.renew(KEY, "dep-a", 30) is False
    assert store.leases.release(KEY, "dep-a") is False
    assert store.leases.get(KEY).holder == "dep-b"  # type: ignore[union-attr]


def test_renew_extends_only_the_holders_lease(store: Store) -> None:
    first = store.leases.acquire(KEY, "dep-a", 1)
    assert store.leases.renew(KEY, "dep-a", 120) is True
    renewed = store.leases.get(KEY)
    assert renewed is not None and renewed.expires_at > first.expires_at
    assert renewed.expires_in() > 100
    assert store.leases.renew(KEY, "dep-b", 120) is False
    assert store.leases.renew("shop/none", "dep-a", 120) is False


def test_a_renewed_lease_does_not_expire(store: Store) -> None:
    store.leases.acquire(KEY, "dep-a", 0.3)
    time.sleep(0.15)
    store.leases.renew(KEY, "dep-a", 30)
    time.sleep(0.25)
    with pytest.raises(LeaseHeldError):
        store.leases.acquire(KEY, "dep-b", 30)


def test_renew_owned_renews_every_lease_of_an_executor(store: Store) -> None:
    store.leases.acquire("shop/dev", "dep-a", 1, owner="worker-1")
    store.leases.acquire("shop/prod", "dep-b", 1, owner="worker-1")
    store.leases.acquire("blog/prod", "dep-c", 1, owner="worker-2")
    assert store.leases.renew_owned("worker-1", 300) == 2
    leases = {k: store.leases.get(k) for k in ["shop/dev", "shop/prod", "blog/prod"]}
    expires = {k: lease.expires_in() for k, lease in leases.items() if lease is not None}
    assert expires["shop/dev"] > 200 and expires["shop/prod"] > 200
    assert expires["blog/prod"] < 2
    assert store.leases.renew_owned("nobody", 300) == 0


def test_release(store: Store) -> None:
    store.leases.acquire(KEY, "dep-a", 30)
    assert store.leases.release(KEY, "dep-b") is False
    assert store.leases.release(KEY, "dep-a") is True
    assert store.leases.get(KEY) is None
    assert store.leases.release(KEY, "dep-a") is False
    assert store.leases.acquire(KEY, "dep-b", 30).holder == "dep-b"


def test_threads_racing_for_one_lease_one_wins(store: Store) -> None:
    racers = 12
    barrier = threading.Barrier(racers)
    won: list[LeaseRecord] = []
    lost: list[LeaseHeldError] = []
    other: list[BaseException] = []

    def race(n: int) -> None:
        barrier.wait()
        try:
            won.append(store.leases.acquire(KEY, f"dep-{n}", 60))
        except LeaseHeldError as e:
            lost.append(e)
        except BaseException as e:  # pragma: no cover - reported below
            other.append(e)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert other == []
    assert len(won) == 1 and len(lost) == racers - 1
    assert {e.holder for e in lost} == {won[0].holder}
    assert store.leases.get(KEY).holder == won[0].holder  # type: ignore[union-attr]


def test_threads_racing_for_an_expired_lease_one_takes_it_over(store: Store) -> None:
    store.leases.acquire(KEY, "dep-old", 0.1)
    time.sleep(0.2)
    racers = 8
    barrier = threading.Barrier(racers)
    winners: list[str] = []
    holders: list[str] = []

    def race(n: int) -> None:
        barrier.wait()
        try:
            winners.append(store.leases.acquire(KEY, f"dep-{n}", 60).holder)
        except LeaseHeldError as e:
            holders.append(e.holder)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    assert holders == [winners[0]] * (racers - 1)


@pytest.mark.slow
def test_processes_racing_for_one_lease_one_wins(store: Store, state_url: str) -> None:
    reports = run_workers([["lease", state_url, KEY, f"proc-{n}"] for n in range(3)])
    winners = [r["holder"] for r in reports if r["won"]]
    assert len(winners) == 1
    assert {r["holder"] for r in reports} == {winners[0]}
    assert store.leases.get(KEY).holder == winners[0]  # type: ignore[union-attr]
