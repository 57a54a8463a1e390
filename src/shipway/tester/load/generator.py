"""An open-model load generator: request i is due at start + i/rate whether or not
earlier ones returned, and its latency is measured from that intended time, so a server
that stalls shows the stall in every request it delayed (no coordinated omission).

Built for throughput on one core: a pool of keep-alive connections (asyncio Protocols,
no task or future per request), requests serialized once, responses parsed in place,
latencies recorded into log-bucketed histograms. Due requests wait for a free connection
in order; their wait counts in their latency. A connection is opened when requests are
waiting and fewer than `connections` are open.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from shipway.tester.load.histogram import LatencyHistogram
from shipway.tester.load.wire import ProtocolError, ResponseParser, WireRequest

PROGRESS_INTERVAL = 0.5
SWEEP_INTERVAL = 0.1

Progress = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class LoadPlan:
    host: str
    port: int
    requests: tuple[WireRequest, ...]
    rate: float
    duration: float
    connections: int = 64
    timeout: float = 10.0

    @property
    def planned(self) -> int:
        return max(1, int(self.rate * self.duration))


@dataclass
class LoadStats:
    """What a run measured. `latency` counts every request that ended (errors too) from
    its intended send time; `service` counts answers from the moment they were sent.
    Errors are HTTP statuses from 400 up, failed connections, timeouts, and requests the
    run ended before they could be sent."""

    planned: int
    sent: int = 0
    succeeded: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    service: LatencyHistogram = field(default_factory=LatencyHistogram)
    by_label: dict[str, LatencyHistogram] = field(default_factory=dict)
    send_seconds: float = 0.0
    seconds: float = 0.0
    connections_opened: int = 0
    retried: int = 0

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    @property
    def ended(self) -> int:
        return self.succeeded + self.failed

    @property
    def error_rate(self) -> float:
        return self.failed / self.ended if self.ended else 0.0

    @property
    def achieved_rate(self) -> float:
        """Requests sent per second while sending."""
        return self.sent / self.send_seconds if self.send_seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "planned": self.planned,
            "sent": self.sent,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "error_rate": round(self.error_rate, 6),
            "achieved_rate": round(self.achieved_rate, 2),
            "send_seconds": round(self.send_seconds, 3),
            "seconds": round(self.seconds, 3),
            "connections_opened": self.connections_opened,
            "retried": self.retried,
            "errors": dict(self.errors),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "latency_ms": self.latency.summary_ms(),
            "service_ms": self.service.summary_ms(),
            "by_request": {label: h.summary_ms() for label, h in self.by_label.items()},
        }


class _Connection(asyncio.Protocol):
    __slots__ = ("gen", "index", "parser", "received", "sent_at", "served", "transport")

    def __init__(self, gen: OpenModelGenerator) -> None:
        self.gen = gen
        self.transport: asyncio.Transport | None = None
        self.parser = ResponseParser()
        self.index = -1
        self.sent_at = 0.0
        self.served = 0
        self.received = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # NOTE: uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        self.gen._ready(self)

    def send(self, index: int) -> None:
        request = self.gen.requests[index % len(self.gen.requests)]
        self.index = index
        self.received = False
        self.parser.expect(request.head)
        self.sent_at = time.perf_counter()
        assert self.transport is not None
        self.transport.write(request.data)

    def data_received(self, data: bytes) -> None:
        if self.index < 0:
            return
        self.received = True
        try:
            status = self.parser.feed(data)
        except ProtocolError as exc:
            self.gen._failed(self, f"bad response: {exc}")
            return
        if status:
            self.gen._answered(self, status)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.index >= 0:
            status = self.parser.close_delimited()
            if status:
                self.gen._answered(self, status)
            else:
                self.gen._closed_while_busy(self, exc)
        self.gen._lost(self)


class OpenModelGenerator:
    """Runs one `LoadPlan` on the running event loop; `run()` returns the stats."""

    def __init__(
        self,
        plan: LoadPlan,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.plan = plan
        self.requests = plan.requests
        self.stats = LoadStats(planned=plan.planned)
        self.progress = progress
        self.cancel = cancel or threading.Event()
        self._start = 0.0
        self._interval = 1.0 / plan.rate
        self._due = 0  # requests whose intended time has come
        self._taken = 0  # requests handed to a connection (or given up)
        self._retry: deque[int] = deque()
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()
        self._connecting = 0
        self._closing = False
        self._last_send = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        for request in plan.requests:
            self.stats.by_label.setdefault(request.label, LatencyHistogram())

    async def run(self) -> LoadStats:
        self._loop = asyncio.get_running_loop()
        plan = self.plan
        self._start = time.perf_counter() + 0.005
        next_progress = self._start + PROGRESS_INTERVAL
        next_sweep = self._start + SWEEP_INTERVAL
        last_sent = 0
        while self._due < plan.planned and not self.cancel.is_set():
            now = time.perf_counter()
            due = min(plan.planned, int((now - self._start) * plan.rate) + 1)
            if now >= self._start and due > self._due:
                self._due = due
                self._dispatch()
            if now >= next_sweep:
                self._sweep(now)
                next_sweep = now + SWEEP_INTERVAL
            if now >= next_progress:
                self._report(now, (self.stats.sent - last_sent) / PROGRESS_INTERVAL)
                last_sent = self.stats.sent
                next_progress += PROGRESS_INTERVAL
            wait = self._start + self._due * self._interval - time.perf_counter()
            await asyncio.sleep(wait if wait > 0 else 0)
        await self._drain()
        return self.stats

    # --- dispatching ---------------------------------------------------------------

    def _waiting(self) -> bool:
        return not self._closing and (bool(self._retry) or self._taken < self._due)

    def _next_index(self) -> int:
        if self._retry:
            return self._retry.popleft()
        index = self._taken
        self._taken += 1
        return index

    def _dispatch(self) -> None:
        idle = self._idle
        while idle and self._waiting():
            self._send(idle.pop(), self._next_index())
        backlog = len(self._retry) + self._due - self._taken
        room = self.plan.connections - len(self._open) - self._connecting
        for _ in range(min(backlog - self._connecting, room)):
            self._connect()

    def _send(self, conn: _Connection, index: int) -> None:
        conn.send(index)
        self.stats.sent += 1
        self._last_send = conn.sent_at

    def _connect(self) -> None:
        assert self._loop is not None
        self._connecting += 1
        self.stats.connections_opened += 1
        task = self._loop.create_task(
            self._loop.create_connection(lambda: _Connection(self), self.plan.host, self.plan.port)
        )
        task.add_done_callback(self._connected)

    def _connected(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        self._connecting -= 1
        exc = task.exception()
        # NOTE: a server that refuses connections fails the requests that were waiting
        # for one, one per attempt, so the error rate shows it instead of a silent stall.
        if self._waiting():
            index = self._next_index()
            self._end(index, time.perf_counter(), f"connect: {type(exc).__name__}")

    def _ready(self, conn: _Connection) -> None:
        self._connecting -= 1
        self._open.add(conn)
        self._next_for(conn)

    def _next_for(self, conn: _Connection) -> None:
        if self._waiting():
            self._send(conn, self._next_index())
        else:
            self._idle.append(conn)

    # --- outcomes ------------------------------------------------------------------

    def _intended(self, index: int) -> float:
        return self._start + index * self._interval

    def _end(self, index: int, now: float, error: str | None, status: int = 0) -> None:
        latency = int((now - self._intended(index)) * 1_000_000)
        self.stats.latency.record(latency)
        if error is not None:
            self.stats.errors[error] += 1
            return
        self.stats.statuses[status] += 1
        label = self.requests[index % len(self.requests)].label
        self.stats.by_label[label].record(latency)
        if status >= 400:
            self.stats.errors[f"HTTP {status}"] += 1
        else:
            self.stats.succeeded += 1

    def _answered(self, conn: _Connection, status: int) -> None:
        now = time.perf_counter()
        index, conn.index = conn.index, -1
        conn.served += 1
        self.stats.service.record(int((now - conn.sent_at) * 1_000_000))
        self._end(index, now, None, status)
        if not conn.parser.keep_alive:
            assert conn.transport is not None
            conn.transport.close()
        else:
            self._next_for(conn)

    def _failed(self, conn: _Connection, reason: str) -> None:
        index, conn.index = conn.index, -1
        self._end(index, time.perf_counter(), reason)
        if conn.transport is not None:
            conn.transport.abort()

    def _closed_while_busy(self, conn: _Connection, exc: Exception | None) -> None:
        index, conn.index = conn.index, -1
        # NOTE: a server may close an idle keep-alive connection just as a request goes
        # out on it; RFC 9110 section 9.2.2 allows one retry when nothing came back.
        if conn.served > 0 and not conn.received:
            self.stats.retried += 1
            self._retry.append(index)
            return
        reason = f"connection closed: {type(exc).__name__}" if exc else "connection closed"
        self._end(index, time.perf_counter(), reason)

    def _lost(self, conn: _Connection) -> None:
        self._open.discard(conn)
        if conn in self._idle:
            self._idle.remove(conn)
        if self._waiting() and self._loop is not None:
            self._loop.call_soon(self._dispatch)

    # --- time limits ---------------------------------------------------------------

    def _sweep(self, now: float) -> None:
        """Fail requests that waited longer than the timeout, sent or not."""
        timeout = self.plan.timeout
        for conn in list(self._open):
            if conn.index >= 0 and now - conn.sent_at > timeout:
                self._failed(conn, "timeout")
        limit = min(self._due, int((now - timeout - self._start) * self.plan.rate) + 1)
        while self._taken < limit:
            self._end(self._next_index(), now, "timeout: no free connection")

    async def _drain(self) -> None:
        """Stop sending; give what is in flight until its timeout to answer."""
        ended_sending = time.perf_counter()
        # n sends at the planned rate span n - 1 intervals; the window counts n of them.
        self.stats.send_seconds = max(self._last_send - self._start, 0.0) + self._interval
        self._closing = True
        while self._retry or self._taken < self._due:
            self._end(self._next_index(), ended_sending, "not sent before the end")
        deadline = ended_sending + self.plan.timeout + 0.5
        while any(conn.index >= 0 for conn in self._open) or self._connecting:
            now = time.perf_counter()
            if now > deadline or self.cancel.is_set():
                break
            self._sweep(now)
            await asyncio.sleep(0.01)
        for conn in list(self._open):
            if conn.index >= 0:
                self._failed(conn, "timeout")
            elif conn.transport is not None:
                conn.transport.close()
        self.stats.seconds = time.perf_counter() - self._start
        self._report(time.perf_counter(), self.stats.achieved_rate)

    def _report(self, now: float, rate: float) -> None:
        if self.progress is None:
            return
        latency = self.stats.latency
        self.progress(
            {
                "elapsed": now - self._start,
                "duration": self.plan.duration,
                "sent": self.stats.sent,
                "succeeded": self.stats.succeeded,
                "errors": self.stats.failed,
                "rate": rate,
                "p50_ms": latency.percentile(50) / 1000,
                "p95_ms": latency.percentile(95) / 1000,
                "p99_ms": latency.percentile(99) / 1000,
            }
        )


def run_in_thread(
    plan: LoadPlan, progress: Progress | None = None, cancel: threading.Event | None = None
) -> LoadStats:
    """Run `plan` on its own uvloop event loop in the calling thread (blocking), so that
    nothing else on the caller's loop competes with the generator for the CPU."""
    import uvloop

    generator = OpenModelGenerator(plan, progress, cancel)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(generator.run())
