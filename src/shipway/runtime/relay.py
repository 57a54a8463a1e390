"""The per-connection half of the switching proxy: one client connection joined to one
backend connection (a `Link`), the two asyncio protocols that move bytes between them, and
the `LinkRegistry` that records which backend each link is bound to.

Everything here runs on the proxy's event loop thread, except the registry's read and wait
methods, which the agent calls from its own threads (hence the lock). The public API and
the thread that runs the loop live in `shipway.runtime.proxy`.

# NOTE: the byte path is deliberately tiny (issue 3, decision 0011): a chunk read from one
# side is handed as-is to the other side's uvloop transport, whose `write` tries the send
# syscall at once and buffers only what the kernel refused. Back-pressure uses the
# transports' own high/low water marks: a full write buffer pauses reading on the peer.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import cast

Backend = tuple[str, int]

# Per-transport write buffer before the peer stops being read. Measured with 64 KiB to
# 4 MiB: a single bulk stream ran at the same ~1 GB/s, so keep it small: 1,000 stalled
# connections then hold at most about 500 MB in the proxy.
HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024


class LinkCounters:
    """Monotonic counters, written only by the loop thread; reads elsewhere may lag."""

    __slots__ = ("accepted", "bytes_in", "bytes_out", "failed_backend_connects", "refused")

    def __init__(self) -> None:
        self.accepted = 0
        self.refused = 0
        self.failed_backend_connects = 0
        self.bytes_in = 0
        self.bytes_out = 0


class LinkRegistry:
    """The active backend and the live links per backend; thread-safe.

    Choosing the backend for a new link and registering the link happen under one lock,
    so once `switch` returns, every link bound to the previous backend is visible to
    `wait_idle`: a drain can never miss a connection accepted just before the switch.
    """

    def __init__(self, connect_timeout: float) -> None:
        self.connect_timeout = connect_timeout
        self.counters = LinkCounters()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._backend: Backend | None = None
        self._links: dict[Backend, set[Link]] = {}

    @property
    def backend(self) -> Backend | None:
        with self._lock:
            return self._backend

    def switch(self, backend: Backend | None) -> Backend | None:
        with self._lock:
            previous, self._backend = self._backend, backend
            return previous

    def bind(self, link: Link) -> Backend | None:
        """Register `link` under the active backend; None (nothing registered) if unset."""
        with self._lock:
            backend = self._backend
            if backend is not None:
                self._links.setdefault(backend, set()).add(link)
            return backend

    def release(self, link: Link) -> None:
        with self._changed:
            links = self._links.get(link.backend)
            if links is not None:
                links.discard(link)
                if not links:
                    del self._links[link.backend]
            self._changed.notify_all()

    def count(self, backend: Backend | None = None) -> int:
        with self._lock:
            if backend is None:
                return sum(len(links) for links in self._links.values())
            return len(self._links.get(backend, ()))

    def wait_idle(self, backend: Backend | None, timeout: float) -> int:
        """Block until no link to `backend` (None: to any backend) remains, or `timeout`
        seconds pass; the number still open."""
        deadline = time.monotonic() + max(timeout, 0.0)
        with self._changed:
            while (left := self._count_locked(backend)) and (
                remaining := deadline - time.monotonic()
            ) > 0:
                self._changed.wait(remaining)
            return left

    def abort(self, backend: Backend | None) -> None:
        """Loop thread only: force-close the links to `backend` (None: all links)."""
        with self._lock:
            if backend is None:
                doomed = [link for links in self._links.values() for link in links]
            else:
                doomed = list(self._links.get(backend, ()))
        for link in doomed:
            link.abort()

    def _count_locked(self, backend: Backend | None) -> int:
        if backend is None:
            return sum(len(links) for links in self._links.values())
        return len(self._links.get(backend, ()))


class Link:
    """A client connection and its backend connection, alive until both are closed.

    Lifecycle: accepted -> backend connect (bounded by the
    registry's connect timeout) -> relaying -> closed. A failed connect closes the client
    at once, so a client never waits on a backend that is not there.
    """

    __slots__ = (
        "backend",
        "client",
        "client_eof",
        "client_open",
        "client_side",
        "connect_task",
        "pending",
        "registry",
        "upstream",
        "upstream_eof",
        "upstream_open",
    )

    def __init__(
        self, registry: LinkRegistry, client: asyncio.Transport, client_side: ClientSide
    ) -> None:
        self.registry = registry
        self.client = client
        self.client_side = client_side
        self.pending: list[bytes] = []
        self.client_open = True
        self.client_eof = False
        self.upstream: asyncio.Transport | None = None
        self.upstream_open = False
        self.upstream_eof = False
        self.connect_task: asyncio.Task[None] | None = None
        self.backend: Backend = ("", 0)

    def start(self, backend: Backend) -> None:
        self.backend = backend
        self.connect_task = asyncio.get_running_loop().create_task(self._connect())

    def hold(self, data: bytes) -> None:
        """Keep what the client sent before the backend connection exists, and stop
        reading until it does, so at most one chunk waits in the proxy."""
        # NOTE: pausing in connection_made would be simpler, but uvloop starts reading
        # right after connection_made whatever the protocol asked for there.
        self.pending.append(data)
        self.client.pause_reading()

    async def _connect(self) -> None:
        host, port = self.backend
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.registry.connect_timeout):
                await loop.create_connection(lambda: UpstreamSide(self), host, port)
        except (OSError, TimeoutError):
            self.registry.counters.failed_backend_connects += 1
            if not self.client.is_closing():
                self.client.abort()
        finally:
            self.connect_task = None
            self.maybe_release()

    def upstream_made(self, transport: asyncio.Transport) -> None:
        self.upstream = transport
        self.upstream_open = True
        if not self.client_open:
            transport.abort()
            return
        self.client_side.peer = transport
        if self.pending:
            transport.writelines(self.pending)
            self.pending.clear()
        if self.client_eof:
            transport.write_eof()
        else:
            self.client.resume_reading()

    def eof_from(self, client_side: bool) -> None:
        """Propagate a half-close; once both directions are shut, close both ends."""
        if client_side:
            self.client_eof = True
            target = self.upstream
        else:
            self.upstream_eof = True
            target = self.client
        if target is not None and not target.is_closing():
            target.write_eof()
        if self.client_eof and self.upstream_eof:
            self.client.close()
            if self.upstream is not None:
                self.upstream.close()

    def lost(self, client_side: bool, exc: Exception | None) -> None:
        if client_side:
            self.client_open = False
            peer = self.upstream
        else:
            self.upstream_open = False
            peer = self.client
        if peer is not None and not peer.is_closing():
            # A clean close lets the peer flush what it still holds; an error (reset,
            # broken pipe) is passed on as a reset rather than a normal end of stream.
            if exc is None:
                peer.close()
            else:
                peer.abort()
        self.maybe_release()

    def abort(self) -> None:
        if self.connect_task is not None:
            self.connect_task.cancel()
        if not self.client.is_closing():
            self.client.abort()
        if self.upstream is not None and not self.upstream.is_closing():
            self.upstream.abort()

    def maybe_release(self) -> None:
        if not (self.client_open or self.upstream_open or self.connect_task):
            self.registry.release(self)


class ClientSide(asyncio.Protocol):
    """The accepted end: binds a new link to the backend active at this moment."""

    __slots__ = ("counters", "link", "peer", "registry")

    def __init__(self, registry: LinkRegistry) -> None:
        self.registry = registry
        self.counters = registry.counters
        self.link: Link | None = None
        self.peer: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        client = cast(asyncio.Transport, transport)
        self.counters.accepted += 1
        link = Link(self.registry, client, self)
        backend = self.registry.bind(link)
        if backend is None:
            self.counters.refused += 1
            client.abort()
            return
        client.set_write_buffer_limits(HIGH_WATER, LOW_WATER)
        self.link = link
        link.start(backend)

    def data_received(self, data: bytes) -> None:
        self.counters.bytes_in += len(data)
        peer = self.peer
        if peer is None:
            cast(Link, self.link).hold(data)
            return
        # The peer may have closed earlier in this loop iteration (its connection_lost
        # is still queued); writing to a closed uvloop transport raises.
        if not peer.is_closing():
            peer.write(data)

    def eof_received(self) -> bool:
        if self.link is not None:
            self.link.eof_from(client_side=True)
        return True  # keep our sending direction open: only one direction has ended

    def connection_lost(self, exc: Exception | None) -> None:
        if self.link is not None:
            self.link.lost(client_side=True, exc=exc)

    def pause_writing(self) -> None:
        if self.link is not None and self.link.upstream is not None:
            self.link.upstream.pause_reading()

    def resume_writing(self) -> None:
        if self.link is not None and self.link.upstream is not None:
            self.link.upstream.resume_reading()


class UpstreamSide(asyncio.Protocol):
    """The end connected to the backend."""

    __slots__ = ("counters", "link", "peer")

    def __init__(self, link: Link) -> None:
        self.link = link
        self.peer = link.client
        self.counters = link.registry.counters

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        upstream = cast(asyncio.Transport, transport)
        upstream.set_write_buffer_limits(HIGH_WATER, LOW_WATER)
        self.link.upstream_made(upstream)

    def data_received(self, data: bytes) -> None:
        self.counters.bytes_out += len(data)
        if not self.peer.is_closing():
            self.peer.write(data)

    def eof_received(self) -> bool:
        self.link.eof_from(client_side=False)
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.link.lost(client_side=False, exc=exc)

    def pause_writing(self) -> None:
        self.peer.pause_reading()

    def resume_writing(self) -> None:
        self.peer.resume_reading()
