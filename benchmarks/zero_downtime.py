"""Zero downtime: 20 consecutive deploys of the example while a client sends a steady
200 requests/s through the public port. Target: 0 failed requests (connection errors or
5xx). The client is open-model (a request leaves every 5 ms whether or not earlier ones
returned) over keep-alive connections, as a real client would: connections pinned to the
old release while it stops are the hard case (see SteadyClient).

The example's health interval is lowered from 1s to 0.25s here so that 20 deploys fit in
the minute a benchmark may take; the gate is otherwise unchanged (2 consecutive passes).

    python benchmarks/zero_downtime.py
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from deployed_example import Example

DEPLOYS = int(os.environ.get("DEPLOYS", "20"))
RATE = 200.0
CONNECTIONS = 32
TIMEOUT = 10.0


class SteadyClient:
    """An open-model HTTP/1.1 client: a request is due every 1/RATE s; CONNECTIONS
    keep-alive connections take due requests in order (a request waits when all are busy,
    and its wait counts in nothing but latency).

    NOTE: a server may close an idle keep-alive connection just as the client sends on
    it; RFC 9110 section 9.2.2 lets a client retry an idempotent request then, and
    browsers and urllib3 do. This client retries such a GET once, only when the
    connection had already served a response and not one byte of the answer came back,
    and reports how often it did. Everything else is a failure: a refused or reset
    connection, a timeout, a broken or 5xx response.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.sent = 0
        self.retried = 0
        self.failures: Counter[str] = Counter()
        self.versions: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    async def _run(self) -> None:
        queue: asyncio.Queue[float] = asyncio.Queue()
        workers = [asyncio.create_task(self._worker(queue)) for _ in range(CONNECTIONS)]
        start = time.monotonic()
        while not self._stop.is_set():
            due = start + self.sent / RATE
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            self.sent += 1
            queue.put_nowait(due)
        await asyncio.wait_for(queue.join(), timeout=15)
        for worker in workers:
            worker.cancel()

    async def _worker(self, queue: asyncio.Queue[float]) -> None:
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        served = 0
        while True:
            await queue.get()
            for attempt in (1, 2):
                if conn is not None and conn[0].at_eof():
                    conn = _close(conn)  # closed while idle: as a pool does, reconnect
                reused = conn is not None and served > 0
                try:
                    if conn is None:
                        conn = await asyncio.wait_for(
                            asyncio.open_connection(self.host, self.port), TIMEOUT
                        )
                        served = 0
                    status, body, keep = await asyncio.wait_for(_get(*conn), TIMEOUT)
                except _NoAnswerError as exc:
                    conn = _close(conn)
                    if reused and attempt == 1:
                        self.retried += 1
                        continue
                    self.failures[str(exc)] += 1
                except (OSError, TimeoutError, ValueError) as exc:
                    conn = _close(conn)
                    self.failures[type(exc).__name__] += 1
                else:
                    served += 1
                    if status >= 500:
                        self.failures[f"HTTP {status}"] += 1
                    else:
                        self.versions[str(json.loads(body).get("version"))] += 1
                    if not keep:
                        conn = _close(conn)
                break
            queue.task_done()


class _NoAnswerError(Exception):
    """The connection closed before one byte of the response arrived."""


async def _get(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> tuple[int, bytes, bool]:
    writer.write(b"GET /health HTTP/1.1\r\nHost: bench\r\n\r\n")
    await writer.drain()
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise _NoAnswerError("closed before answering") from exc
        raise ValueError("truncated response head") from exc
    except ConnectionResetError as exc:
        raise _NoAnswerError("reset before answering") from exc
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, body, headers.get("connection") != "close"


def _close(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None) -> None:
    if conn is not None:
        conn[1].close()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="shipway-bench-") as tmp:
        example = Example(Path(tmp) / "notes", health_interval="0.25s")
        try:
            example.deploy()
            client = SteadyClient("127.0.0.1", example.port)
            client.start()
            began = time.monotonic()
            for number in range(DEPLOYS):
                example.set_version(f"{number + 2}")
                started = time.monotonic()
                example.deploy()
                print(
                    f"deploy {number + 1}: {time.monotonic() - started:.1f}s, "
                    f"sent {client.sent}, served {sum(client.versions.values())}, "
                    f"failed {sum(client.failures.values())}",
                    flush=True,
                )
            took = time.monotonic() - began
            client.stop()
        finally:
            example.stop()
    failed = sum(client.failures.values())
    served = sum(client.versions.values())
    print(f"{DEPLOYS} deploys in {took:.1f}s; {client.sent} requests sent, {served} served")
    print(f"versions served: {len(client.versions)}; failures: {dict(client.failures) or 'none'}")
    print(f"GETs retried on a keep-alive connection the server closed idle: {client.retried}")
    ratio = failed / client.sent if client.sent else 1.0
    print(
        f"RESULT zero_downtime {failed} failed_requests "
        f"(ref {client.sent} sent_requests, ratio {ratio:.4f})"
    )


if __name__ == "__main__":
    main()
