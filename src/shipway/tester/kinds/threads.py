"""Running a blocking kind (one built on a synchronous library) in a worker thread while
its cases still reach the run as they finish."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable

from shipway.tester.results import CaseResult

Emit = Callable[[CaseResult], None]


async def cases_from_thread(work: Callable[[Emit], None]) -> AsyncIterator[CaseResult]:
    """Run `work(emit)` in a thread; yield every case it emits, then re-raise its error."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[CaseResult | None] = asyncio.Queue()
    failure: list[BaseException] = []

    def emit(case: CaseResult) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, case)

    def main() -> None:
        try:
            work(emit)
        except BaseException as exc:  # handed to the awaiting side, raised there
            failure.append(exc)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, None)

    thread = threading.Thread(target=main, name="shipway-test-kind", daemon=True)
    thread.start()
    while (case := await queue.get()) is not None:
        yield case
    await asyncio.to_thread(thread.join)
    if failure:
        raise failure[0]
