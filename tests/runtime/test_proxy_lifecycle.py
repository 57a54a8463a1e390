"""Starting and stopping the proxy: ports, threads, sockets, address families."""

from __future__ import annotations

import os
import socket
import threading

import psutil
import pytest

from shipway.errors import ShipwayError
from shipway.runtime.proxy import ProxyError, SwitchingProxy

from .proxy_support import DEADLINE, NameServer, ask, get, has_ipv6_loopback, keepalive


def _proxy_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("shipway-proxy-")]


def _listening(port: int) -> bool:
    return any(
        c.status == psutil.CONN_LISTEN and c.laddr.port == port
        for c in psutil.Process(os.getpid()).net_connections(kind="inet")
    )


def test_start_on_a_taken_port_raises_proxy_error() -> None:
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        proxy = SwitchingProxy("127.0.0.1", taken.getsockname()[1], name="clash")
        with pytest.raises(ProxyError, match="cannot listen") as caught:
            proxy.start()
    assert isinstance(caught.value, ShipwayError)
    assert not proxy.running and _proxy_threads() == []


def test_stop_leaves_no_listening_socket_and_no_thread() -> None:
    backend = NameServer("a")
    # libuv opens one process-wide signal pipe on first use; count fds after that.
    SwitchingProxy("127.0.0.1", 0).__enter__().stop()
    fds_before = psutil.Process(os.getpid()).num_fds()
    proxy = SwitchingProxy("127.0.0.1", 0, name="stopper")
    try:
        proxy.start()
        port = proxy.address[1]
        assert proxy.running and _listening(port) and len(_proxy_threads()) == 1
        proxy.switch(backend.address)
        with keepalive(proxy.address) as open_conn:
            assert ask(open_conn) == "a"
            proxy.stop(timeout=DEADLINE)
            # The open connection was closed by stop, not left dangling.
            with pytest.raises((ConnectionError, OSError)):
                ask(open_conn)
        assert not proxy.running and _proxy_threads() == []
        assert not _listening(port)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=DEADLINE).close()
        assert proxy.connections() == 0
        assert psutil.Process(os.getpid()).num_fds() == fds_before
        proxy.stop()  # a second stop is harmless
    finally:
        proxy.stop()
        backend.close()


def test_restart_on_the_same_port_keeps_backend_and_counters() -> None:
    backend = NameServer("a")
    try:
        with SwitchingProxy("127.0.0.1", 0) as proxy:
            proxy.switch(backend.address)
            address = proxy.address
            assert get(address) == "a"
        # SO_REUSEADDR: the port is free again at once, despite the closed connections.
        with SwitchingProxy(*address) as again:
            again.switch(backend.address)
            assert get(address) == "a"
        proxy.start()
        try:
            assert get(proxy.address) == "a" and proxy.stats().accepted == 2
        finally:
            proxy.stop()
    finally:
        backend.close()


def test_start_twice_and_address_before_start_raise() -> None:
    proxy = SwitchingProxy("127.0.0.1", 0)
    with pytest.raises(ProxyError, match="not been started"):
        _ = proxy.address
    with proxy, pytest.raises(ProxyError, match="already running"):
        proxy.start()


def test_invalid_backend_is_refused(proxy: SwitchingProxy) -> None:
    with pytest.raises(ProxyError, match="invalid backend"):
        proxy.switch(("127.0.0.1", 0))
    assert proxy.backend is None


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback on this machine")
@pytest.mark.parametrize(
    ("listen", "backend_host"), [("::1", "::1"), ("::1", "127.0.0.1"), ("127.0.0.1", "::1")]
)
def test_ipv4_and_ipv6_loopback(listen: str, backend_host: str) -> None:
    backend = NameServer("six", host=backend_host)
    try:
        with SwitchingProxy(listen, 0) as proxy:
            assert proxy.address[0] == listen
            proxy.switch(backend.address)
            assert get(proxy.address) == "six"
    finally:
        backend.close()
