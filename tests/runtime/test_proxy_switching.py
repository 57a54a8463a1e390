"""Switching and draining: which backend a connection goes to, and for how long."""

from __future__ import annotations

import socket
import threading
import time

from shipway.runtime.proxy import SwitchingProxy

from .proxy_support import (
    DEADLINE,
    NameServer,
    ask,
    assert_closed,
    get,
    keepalive,
    read_response,
    send_request,
    wait_until,
)


def test_traffic_reaches_the_active_backend(
    proxy: SwitchingProxy, backends: tuple[NameServer, NameServer]
) -> None:
    a, _ = backends
    assert proxy.switch(a.address) is None
    assert proxy.backend == a.address
    assert [get(proxy.address) for _ in range(3)] == ["a", "a", "a"]
    assert wait_until(lambda: proxy.connections() == 0)
    stats = proxy.stats()
    assert stats.accepted == 3 and stats.active == 0 and stats.failed_backend_connects == 0
    assert stats.bytes_in > 3 * len("GET / HTTP/1.1\r\n") and stats.bytes_out > 3 * len("a")


def test_switch_moves_new_connections_and_keeps_open_ones(
    proxy: SwitchingProxy, backends: tuple[NameServer, NameServer]
) -> None:
    a, b = backends
    proxy.switch(a.address)
    with keepalive(proxy.address) as old:
        assert ask(old) == "a"
        assert proxy.switch(b.address) == a.address
        assert get(proxy.address) == "b"
        # The kept-alive connection stays on the release it started on.
        assert [ask(old) for _ in range(3)] == ["a", "a", "a"]
        with keepalive(proxy.address) as new:
            assert ask(new) == "b"
            assert proxy.connections(a.address) == 1
            assert proxy.connections(b.address) == 1
            assert proxy.connections() == 2
    assert wait_until(lambda: proxy.connections() == 0)
    assert proxy.connections(a.address) == 0


def test_drain_returns_zero_when_connections_close_in_time(
    proxy: SwitchingProxy, backends: tuple[NameServer, NameServer]
) -> None:
    a, b = backends
    proxy.switch(a.address)
    with keepalive(proxy.address) as old:
        assert ask(old) == "a"
        proxy.switch(b.address)
        closer = threading.Timer(0.3, old.close)
        closer.start()
        started = time.monotonic()
        assert proxy.drain(a.address, timeout=DEADLINE) == 0
        elapsed = time.monotonic() - started
        closer.join()
    assert 0.2 < elapsed < DEADLINE / 2
    assert get(proxy.address) == "b"


def test_drain_with_nothing_open_returns_at_once(
    proxy: SwitchingProxy, backends: tuple[NameServer, NameServer]
) -> None:
    a, b = backends
    proxy.switch(a.address)
    started = time.monotonic()
    assert proxy.drain(b.address, timeout=DEADLINE) == 0
    assert time.monotonic() - started < 1.0


def test_drain_force_closes_after_the_timeout(
    proxy: SwitchingProxy, backends: tuple[NameServer, NameServer]
) -> None:
    a, b = backends
    proxy.switch(a.address)
    clients = [socket.create_connection(proxy.address, timeout=DEADLINE) for _ in range(3)]
    try:
        for client in clients:
            send_request(client)
            assert read_response(client) == "a"
        assert wait_until(lambda: proxy.connections(a.address) == 3)
        proxy.switch(b.address)
        started = time.monotonic()
        assert proxy.drain(a.address, timeout=0.5) == 3
        assert 0.4 < time.monotonic() - started < 3.0
        assert proxy.connections(a.address) == 0
        for client in clients:  # each client sees its connection end, promptly
            assert_closed(client)
    finally:
        for client in clients:
            client.close()
    assert get(proxy.address) == "b"


def test_switch_under_load_loses_no_request(
    proxy: SwitchingProxy, backends: tuple[NameServer, NameServer]
) -> None:
    a, b = backends
    proxy.switch(a.address)
    seen: dict[str, int] = {"a": 0, "b": 0}
    errors: list[BaseException] = []
    done = threading.Event()

    def client() -> None:
        deadline = time.monotonic() + 4 * DEADLINE
        while not done.is_set() and time.monotonic() < deadline:
            try:
                seen[get(proxy.address)] += 1
            except Exception as exc:
                errors.append(exc)

    worker = threading.Thread(target=client)
    worker.start()
    try:
        for i in range(20):
            time.sleep(0.05)
            new, old = (b, a) if i % 2 == 0 else (a, b)
            assert proxy.switch(new.address) == old.address
            # The agent drains the old release before stopping it: short requests on
            # fresh connections finish well within the timeout.
            assert proxy.drain(old.address, timeout=DEADLINE) == 0
    finally:
        done.set()
        worker.join(4 * DEADLINE)
    assert errors == []
    assert seen["a"] > 0 and seen["b"] > 0 and seen["a"] + seen["b"] >= 20
    assert proxy.stats().failed_backend_connects == 0


def test_release_cycle_switch_drain_stop_loses_no_request(proxy: SwitchingProxy) -> None:
    # What the agent does on every deploy: start the new release, switch, drain the old
    # one, stop it. A client hammering the public port never notices.
    current = NameServer("r0")
    proxy.switch(current.address)
    seen: list[str] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def client() -> None:
        deadline = time.monotonic() + 4 * DEADLINE
        while not done.is_set() and time.monotonic() < deadline:
            try:
                seen.append(get(proxy.address))
            except Exception as exc:
                errors.append(exc)

    worker = threading.Thread(target=client)
    worker.start()
    try:
        for i in range(1, 6):
            time.sleep(0.1)
            new = NameServer(f"r{i}")
            assert proxy.switch(new.address) == current.address
            assert proxy.drain(current.address, timeout=DEADLINE) == 0
            current.close()
            current = new
    finally:
        done.set()
        worker.join(4 * DEADLINE)
        current.close()
    assert errors == []
    assert {f"r{i}" for i in range(6)} <= set(seen)
