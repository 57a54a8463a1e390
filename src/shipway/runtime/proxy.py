"""The switching proxy: owns one service's public port for the local agent and forwards
each client connection to the release that was active when the connection was accepted.

`switch` points new connections at another release's private port; connections already
open stay on the release they started on (HTTP keep-alive included) until they close,
and `drain` waits for them, then force-closes what is left, so the agent can stop the old
release without cutting a request in half.

The API is synchronous and thread-safe, for the agent's threads. The proxy itself runs a
uvloop event loop in one background thread; the per-connection relay is in
`shipway.runtime.relay`. Why this design over streams, raw epoll or splice: decision 0011.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import uvloop

from shipway.errors import ShipwayError
from shipway.runtime.relay import Backend, ClientSide, LinkRegistry

CONNECT_TIMEOUT = 5.0  # to a backend; a release that cannot accept in time is not there
START_DEADLINE = 10.0  # for the loop thread to come up and start serving
CLOSE_DEADLINE = 2.0  # for force-closed connections to be gone
LISTEN_BACKLOG = 1024

__all__ = ["Backend", "ProxyError", "ProxyStats", "SwitchingProxy"]


class ProxyError(ShipwayError):
    """The switching proxy could not bind its port, start or stop."""


@dataclass(frozen=True)
class ProxyStats:
    """Counters since the proxy was created (they survive stop/start)."""

    accepted: int  # client connections accepted
    active: int  # client connections open now (including those still connecting)
    refused: int  # accepted while no backend was set, closed at once
    failed_backend_connects: int  # backend refused, unreachable or too slow to accept
    bytes_in: int  # client -> backend
    bytes_out: int  # backend -> client


class SwitchingProxy:
    """A TCP proxy on `listen_host:listen_port` whose backend can be switched live."""

    def __init__(
        self,
        listen_host: str,
        listen_port: int,
        *,
        name: str = "",
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        self.listen_host = listen_host
        self.listen_port = listen_port
        self.name = name or f"{listen_host}:{listen_port}"
        self._registry = LinkRegistry(connect_timeout)
        self._state = threading.Lock()  # serialises start/stop
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._address: tuple[str, int] | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """Bind the port and serve from a background thread; ProxyError if the port is
        taken or the loop does not come up."""
        with self._state:
            if self._thread is not None:
                raise ProxyError(f"proxy {self.name} is already running")
            sock = self._bind()
            self._address = _host_port(sock.getsockname())
            ready = threading.Event()
            failure: list[BaseException] = []
            thread = threading.Thread(
                target=self._run,
                args=(sock, ready, failure),
                name=f"shipway-proxy-{self.name}",
                daemon=True,
            )
            thread.start()
            if not ready.wait(START_DEADLINE) or failure:
                self._call_in_loop(self._request_stop)
                self._join(thread, CLOSE_DEADLINE)
                cause = failure[0] if failure else None
                raise ProxyError(f"proxy {self.name} did not start: {cause}") from cause
            self._thread = thread

    def stop(self, timeout: float = 5.0) -> None:
        """Close the listener and every connection; return once the thread has ended."""
        with self._state:
            thread = self._thread
            if thread is None:
                return
            self._call_in_loop(self._request_stop)
            self._join(thread, timeout)
            self._thread = None
            if thread.is_alive():
                raise ProxyError(f"proxy {self.name} did not stop within {timeout:g}s")

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- routing ---------------------------------------------------------------------

    def switch(self, backend: Backend | None) -> Backend | None:
        """Send new connections to `backend` from now on (None: close them at once);
        the previous backend. Open connections keep the backend they started with."""
        return self._registry.switch(None if backend is None else _backend(backend))

    def drain(self, backend: Backend, timeout: float) -> int:
        """Wait up to `timeout` seconds for the connections bound to `backend` to close;
        how many were still open, which are then force-closed. Pass the same tuple that
        was given to `switch`. Draining the active backend waits on new connections too."""
        key = _backend(backend)
        left = self._registry.wait_idle(key, timeout)
        if left:
            self._call_in_loop(self._registry.abort, key)
            self._registry.wait_idle(key, CLOSE_DEADLINE)
        return left

    def wait_idle(self, backend: Backend, timeout: float) -> int:
        """Wait up to `timeout` seconds for the connections bound to `backend` to close
        by themselves; how many are still open (nothing is closed)."""
        return self._registry.wait_idle(_backend(backend), timeout)

    def connections(self, backend: Backend | None = None) -> int:
        """Open client connections, all of them or those bound to `backend`."""
        return self._registry.count(None if backend is None else _backend(backend))

    def stats(self) -> ProxyStats:
        counters = self._registry.counters
        return ProxyStats(
            accepted=counters.accepted,
            active=self._registry.count(),
            refused=counters.refused,
            failed_backend_connects=counters.failed_backend_connects,
            bytes_in=counters.bytes_in,
            bytes_out=counters.bytes_out,
        )

    @property
    def backend(self) -> Backend | None:
        return self._registry.backend

    @property
    def address(self) -> tuple[str, int]:
        """The bound address (the real port when listening on port 0)."""
        if self._address is None:
            raise ProxyError(f"proxy {self.name} has not been started")
        return self._address

    @property
    def running(self) -> bool:
        return self._thread is not None

    # -- the loop thread -------------------------------------------------------------

    def _bind(self) -> socket.socket:
        try:
            infos = socket.getaddrinfo(
                self.listen_host,
                self.listen_port,
                type=socket.SOCK_STREAM,
                flags=socket.AI_PASSIVE,
            )
            family, kind, proto, _, addr = infos[0]
            sock = socket.socket(family, kind, proto)
        except (OSError, IndexError) as exc:
            raise ProxyError(f"proxy {self.name}: cannot resolve address: {exc}") from exc
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(addr)
            sock.listen(LISTEN_BACKLOG)
        except OSError as exc:
            sock.close()
            raise ProxyError(f"proxy {self.name}: cannot listen: {exc}") from exc
        return sock

    def _run(
        self, sock: socket.socket, ready: threading.Event, failure: list[BaseException]
    ) -> None:
        try:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(self._serve(sock, ready))
        except BaseException as exc:  # reported to start(), or lost with the thread
            failure.append(exc)
        finally:
            sock.close()  # no-op once the server owns it; needed if it never did
            self._loop = None
            ready.set()

    async def _serve(self, sock: socket.socket, ready: threading.Event) -> None:
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        server = await loop.create_server(
            lambda: ClientSide(self._registry), sock=sock, backlog=LISTEN_BACKLOG
        )
        self._loop, self._stopping = loop, stopping
        ready.set()
        try:
            await stopping.wait()
        finally:
            server.close()
            self._registry.abort(None)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CLOSE_DEADLINE):
                    await server.wait_closed()
                    while self._registry.count():
                        await asyncio.sleep(0.01)

    def _request_stop(self) -> None:
        if self._stopping is not None:
            self._stopping.set()

    def _call_in_loop(self, func: Callable[..., object], *args: object) -> None:
        loop = self._loop
        if loop is None:
            return
        # The loop may close between the check and the call; then nothing is left to do.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(func, *args)

    def _join(self, thread: threading.Thread, timeout: float) -> None:
        if thread is not threading.current_thread():
            thread.join(timeout)


def _backend(backend: Backend) -> Backend:
    host, port = backend
    if not isinstance(host, str) or not host or not 0 < int(port) < 65536:
        raise ProxyError(f"invalid backend address {backend!r}")
    return (host, int(port))


def _host_port(sockname: tuple[str, int] | tuple[str, int, int, int]) -> tuple[str, int]:
    return (sockname[0], sockname[1])
