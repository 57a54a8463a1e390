"""Walking a plan's graph with bounded parallelism.

A change starts once the changes it waits for are done. After the first failure nothing
new starts; changes already running finish (a provider call is never abandoned halfway),
and what did not start is reported as skipped. A set cancel flag, or Ctrl-C, stops
scheduling the same way.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field


@dataclass
class Walk:
    """What happened to each node of a walk."""

    done: list[str] = field(default_factory=list)
    failed: dict[str, BaseException] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


class _Walker:
    def __init__(
        self,
        waits: Mapping[str, set[str]],
        work: Callable[[str], None],
        parallelism: int,
        cancel: threading.Event,
    ) -> None:
        self.pending = {name: {w for w in deps if w in waits} for name, deps in waits.items()}
        self.dependents: dict[str, list[str]] = {name: [] for name in self.pending}
        for name, deps in self.pending.items():
            for dep in deps:
                self.dependents[dep].append(name)
        self.ready = deque(name for name, deps in self.pending.items() if not deps)
        self.running: dict[Future[None], str] = {}
        self.result = Walk()
        self.work = work
        self.parallelism = max(1, parallelism)
        self.cancel = cancel

    def _may_start(self) -> bool:
        return (
            bool(self.ready)
            and not self.result.failed
            and not self.cancel.is_set()
            and len(self.running) < self.parallelism
        )

    def drive(self, pool: ThreadPoolExecutor) -> None:
        while self.ready or self.running:
            while self._may_start():
                name = self.ready.popleft()
                self.running[pool.submit(self.work, name)] = name
            if not self.running:
                return
            finished, _ = wait(self.running, return_when=FIRST_COMPLETED)
            for future in finished:
                self._finished(self.running.pop(future), future.exception())

    def _finished(self, name: str, error: BaseException | None) -> None:
        if error is not None:
            self.result.failed[name] = error
            return
        self.result.done.append(name)
        for dependent in self.dependents[name]:
            self.pending[dependent].discard(name)
            if not self.pending[dependent]:
                self.ready.append(dependent)


def walk(
    waits: Mapping[str, set[str]],
    work: Callable[[str], None],
    *,
    parallelism: int,
    cancel: threading.Event,
) -> Walk:
    """Run `work(name)` for every name once the names it waits for are done."""
    walker = _Walker(waits, work, parallelism, cancel)
    with ThreadPoolExecutor(walker.parallelism, thread_name_prefix="shipway-apply") as pool:
        try:
            walker.drive(pool)
        except KeyboardInterrupt:
            # NOTE: Ctrl-C stops scheduling; calls in flight finish and record themselves
            # (leaving the `with` waits for them), then the interrupt goes on.
            cancel.set()
            raise
    result = walker.result
    finished = set(result.done) | set(result.failed)
    result.skipped = [name for name in waits if name not in finished]
    return result
