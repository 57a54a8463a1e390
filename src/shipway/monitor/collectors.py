"""The `Collector` seam: the agent's always-on monitoring loops (scraping, log capture,
alert evaluation), each in its own thread for the agent's lifetime.

A collector finds what to watch through `monitor/targets.py` on every round, so releases
that come and go are picked up without restarting the agent. It must not let an error
end its loop: it reports the error on stderr (the agent's log) and tries again next round.
"""

from __future__ import annotations

import importlib
import sys
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from shipway.runtime.host import ServiceHost
    from shipway.store import Store

#: "module:Class" of shipway's own collectors, one line each, started in this order.
BUILTIN_COLLECTORS: tuple[str, ...] = (
    "shipway.monitor.metrics.collector:MetricsCollector",
    "shipway.monitor.alerts.collector:AlertCollector",
    "shipway.monitor.logs.collector:LogCollector",
    "shipway.monitor.anomaly.collector:AnomalyCollector",
)


@dataclass(frozen=True)
class CollectorContext:
    """What a collector may use: the agent's store, home and service host."""

    store: Store
    home: Path
    executor_id: str
    host: ServiceHost
    stop: threading.Event


class Collector(ABC):
    """One always-on loop. Subclasses set `name` and implement `run`."""

    name: ClassVar[str]

    def __init__(self, ctx: CollectorContext) -> None:
        self.ctx = ctx

    @abstractmethod
    def run(self) -> None:
        """Work until `self.ctx.stop` is set; wait with `self.ctx.stop.wait(seconds)`."""

    def report(self, message: str) -> None:
        """A line in the agent's log."""
        print(f"{self.name}: {message}", file=sys.stderr, flush=True)


def start_collectors(ctx: CollectorContext) -> list[threading.Thread]:
    """Start every built-in collector in a daemon thread; the caller sets `ctx.stop` and
    joins them at shutdown."""
    threads = []
    for spec in BUILTIN_COLLECTORS:
        module, _, cls = spec.partition(":")
        collector: Collector = getattr(importlib.import_module(module), cls)(ctx)
        thread = threading.Thread(
            target=_guarded, args=(collector,), name=f"collector-{collector.name}", daemon=True
        )
        thread.start()
        threads.append(thread)
    return threads


def _guarded(collector: Collector) -> None:
    try:
        collector.run()
    except Exception as exc:  # the agent must outlive a collector bug
        collector.report(f"stopped after an error: {type(exc).__name__}: {exc}")
