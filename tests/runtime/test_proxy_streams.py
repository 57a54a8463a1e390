"""What travels through the proxy: bulk data, half-close, many connections, failures."""

from __future__ import annotations

import hashlib
import random
import socket
import struct
import threading
import time

import pytest

from shipway.runtime.proxy import SwitchingProxy

from .proxy_support import (
    DEADLINE,
    SOURCE_CHUNK,
    SOURCE_CHUNKS,
    TAIL,
    NameServer,
    StreamServer,
    ask,
    assert_closed,
    free_port,
    get,
    keepalive,
    read_response,
    send_request,
    wait_until,
)

BULK = 50 * 1024 * 1024


def _read_to_end(sock: socket.socket) -> bytes:
    parts = []
    while chunk := sock.recv(1 << 20):
        parts.append(chunk)
    return b"".join(parts)


def test_large_transfer_arrives_intact_both_ways(proxy: SwitchingProxy) -> None:
    echo = StreamServer("echo")
    proxy.switch(echo.address)
    payload = random.Random(11).randbytes(BULK)
    received = hashlib.sha256()
    count = 0
    try:
        with socket.create_connection(proxy.address, timeout=DEADLINE) as client:

            def send() -> None:
                view = memoryview(payload)
                for start in range(0, BULK, 1 << 20):
                    client.sendall(view[start : start + (1 << 20)])
                client.shutdown(socket.SHUT_WR)

            sender = threading.Thread(target=send)
            sender.start()
            while chunk := client.recv(1 << 20):
                received.update(chunk)
                count += len(chunk)
            sender.join(DEADLINE)
    finally:
        echo.close()
    assert count == BULK
    assert received.hexdigest() == hashlib.sha256(payload).hexdigest()
    assert wait_until(lambda: proxy.connections() == 0)
    stats = proxy.stats()
    assert stats.bytes_in == BULK and stats.bytes_out == BULK


def test_a_slow_client_holds_back_the_backend(proxy: SwitchingProxy) -> None:
    # Back-pressure: while the client reads nothing, the proxy stops reading from the
    # backend once its write buffer is full, so the backend stalls instead of the proxy
    # buffering the whole stream in memory.
    source = StreamServer("source")
    proxy.switch(source.address)
    total = SOURCE_CHUNKS * len(SOURCE_CHUNK)
    try:
        with socket.socket() as client:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            client.settimeout(DEADLINE)
            client.connect(proxy.address)
            time.sleep(1.0)
            stalled_at = source.sent
            received = len(_read_to_end(client))
    finally:
        source.close()
    assert stalled_at < total / 2, f"{stalled_at / 2**20:.0f} MiB sent to a client reading nothing"
    assert received == total
    assert wait_until(lambda: proxy.connections() == 0)


def test_half_close_reaches_the_backend_and_the_answer_comes_back(
    proxy: SwitchingProxy,
) -> None:
    digest = StreamServer("digest")
    proxy.switch(digest.address)
    request = random.Random(5).randbytes(3 * 1024 * 1024 + 17)
    try:
        with socket.create_connection(proxy.address, timeout=DEADLINE) as client:
            client.sendall(request)
            client.shutdown(socket.SHUT_WR)  # "that is all": the backend answers only now
            answer = _read_to_end(client)
    finally:
        digest.close()
    header, _, tail = answer.partition(b"\n")
    assert header.decode() == f"{len(request)} {hashlib.sha256(request).hexdigest()}"
    assert tail == TAIL
    assert wait_until(lambda: proxy.connections() == 0)


def test_two_hundred_concurrent_connections(
    proxy: SwitchingProxy, backends: tuple[NameServer, NameServer]
) -> None:
    a, b = backends
    proxy.switch(a.address)
    clients = [socket.create_connection(proxy.address, timeout=DEADLINE) for _ in range(200)]
    try:
        for client in clients:  # all requests in flight at once, then all answers
            send_request(client)
        assert [read_response(client) for client in clients] == ["a"] * 200
        assert proxy.connections(a.address) == 200
        proxy.switch(b.address)
        assert get(proxy.address) == "b"
    finally:
        for client in clients:
            client.close()
    assert wait_until(lambda: proxy.connections() == 0)
    assert proxy.stats().accepted == 201


def test_dead_backend_closes_the_client_promptly(proxy: SwitchingProxy) -> None:
    proxy.switch(("127.0.0.1", free_port()))
    started = time.monotonic()
    with socket.create_connection(proxy.address, timeout=DEADLINE) as client:
        send_request(client)
        assert_closed(client)
    assert time.monotonic() - started < 2.0
    assert wait_until(lambda: proxy.stats().failed_backend_connects == 1)
    assert wait_until(lambda: proxy.connections() == 0)


def test_backend_that_never_accepts_is_given_up_after_the_connect_timeout() -> None:
    # A listener whose accept queue is full makes the kernel drop further SYNs, so a
    # connect to it hangs: the proxy's connect timeout is the only way out.
    with socket.socket() as jammed:
        jammed.bind(("127.0.0.1", 0))
        jammed.listen(0)
        fillers = []
        try:
            for _ in range(4):
                filler = socket.socket()
                filler.setblocking(False)
                filler.connect_ex(jammed.getsockname())
                fillers.append(filler)
            time.sleep(0.1)
            with SwitchingProxy("127.0.0.1", 0, connect_timeout=0.5) as proxy:
                proxy.switch(jammed.getsockname())
                started = time.monotonic()
                with socket.create_connection(proxy.address, timeout=DEADLINE) as client:
                    assert_closed(client)
                assert 0.4 < time.monotonic() - started < 3.0
                assert wait_until(lambda: proxy.stats().failed_backend_connects == 1)
        finally:
            for filler in fillers:
                filler.close()


def test_no_backend_means_connections_are_closed_at_once(proxy: SwitchingProxy) -> None:
    assert proxy.backend is None
    with socket.create_connection(proxy.address, timeout=DEADLINE) as client:
        assert_closed(client)
    assert wait_until(lambda: proxy.stats().refused == 1)
    assert proxy.connections() == 0


def test_backend_closing_first_is_passed_on(proxy: SwitchingProxy) -> None:
    # The backend answers and closes (HTTP/1.0 style): the client must see the end.
    digest = StreamServer("digest")
    proxy.switch(digest.address)
    try:
        with socket.create_connection(proxy.address, timeout=DEADLINE) as client:
            client.shutdown(socket.SHUT_WR)
            header, _, tail = _read_to_end(client).partition(b"\n")
    finally:
        digest.close()
    assert header.startswith(b"0 ") and tail == TAIL
    assert wait_until(lambda: proxy.connections() == 0)


@pytest.mark.parametrize("keep", [True, False])
def test_client_reset_is_passed_on(proxy: SwitchingProxy, keep: bool) -> None:
    backend = NameServer("a")
    proxy.switch(backend.address)
    try:
        with keepalive(proxy.address) as conn:
            assert ask(conn) == "a"
            if not keep:
                assert conn.sock is not None
                # SO_LINGER 0: close with a reset instead of a clean end of stream.
                conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        assert wait_until(lambda: proxy.connections() == 0)
    finally:
        backend.close()
