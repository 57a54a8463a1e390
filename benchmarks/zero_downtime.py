"""Zero downtime: 20 consecutive deploys of the example while a client sends a steady
200 requests/s through the public port. Target: 0 failed requests (connection errors or
5xx). The client is open-model (a request leaves every 5 ms whether or not earlier ones
returned) and uses keep-alive connections, as a real client would: requests pinned to
the old release while it stops are the hard case.

The example's health interval is lowered from 1s to 0.25s here so that 20 deploys fit in
the minute a benchmark may take; the gate is otherwise unchanged (2 consecutive passes).

    python benchmarks/zero_downtime.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from deployed_example import Example

DEPLOYS = 20
RATE = 200.0


class SteadyClient:
    def __init__(self, url: str) -> None:
        self.url = url
        self.sent = 0
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
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(base_url=self.url, limits=limits, timeout=10) as client:
            tasks: set[asyncio.Task[None]] = set()
            start = time.monotonic()
            while not self._stop.is_set():
                due = start + self.sent / RATE
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                self.sent += 1
                task = asyncio.create_task(self._one(client))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if tasks:
                await asyncio.wait(tasks, timeout=15)

    async def _one(self, client: httpx.AsyncClient) -> None:
        try:
            response = await client.get("/health")
        except httpx.HTTPError as exc:
            self.failures[type(exc).__name__] += 1
            return
        if response.status_code >= 500:
            self.failures[f"HTTP {response.status_code}"] += 1
        else:
            self.versions[response.json().get("version", "?")] += 1


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="shipway-bench-") as tmp:
        example = Example(Path(tmp) / "notes", health_interval="0.25s")
        try:
            example.deploy()
            client = SteadyClient(example.url)
            client.start()
            began = time.monotonic()
            for number in range(DEPLOYS):
                example.set_version(f"{number + 2}")
                example.deploy()
            took = time.monotonic() - began
            client.stop()
        finally:
            example.stop()
    failed = sum(client.failures.values())
    served = sum(client.versions.values())
    print(f"{DEPLOYS} deploys in {took:.1f}s; {client.sent} requests sent, {served} served")
    print(f"versions served: {len(client.versions)}; failures: {dict(client.failures) or 'none'}")
    ratio = failed / client.sent if client.sent else 1.0
    print(
        f"RESULT zero_downtime {failed} failed_requests "
        f"(ref {client.sent} sent_requests, ratio {ratio:.4f})"
    )


if __name__ == "__main__":
    main()
