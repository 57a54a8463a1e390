"""Following a deployment: a live Rich view of stages and latest events on a terminal,
one line per event elsewhere."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from datetime import datetime

from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from shipway.cli.output import clock, console, one_line, styled
from shipway.orchestrator import events as ev
from shipway.store.records import EventRecord

STAGE_STATUS_BY_EVENT = {
    ev.STAGE_STARTED: "running",
    ev.STAGE_RETRYING: "retrying",
    ev.STAGE_SKIPPED: "skipped",
    ev.STAGE_FAILED: "failed",
    ev.COMPENSATION_COMPLETED: "compensated",
    ev.COMPENSATION_FAILED: "compensation_failed",
}

FINAL_HEADLINES = {
    ev.DEPLOYMENT_COMPLETED: "succeeded",
    ev.DEPLOYMENT_FAILED: "failed",
    ev.ROLLED_BACK: "failed and rolled back",
    ev.DEPLOYMENT_CANCELLED: "cancelled",
}


def event_line(event: EventRecord) -> str:
    stage = f" [{event.stage}]" if event.stage else ""
    message = f" {one_line(event.message)}" if event.message else ""
    return f"{clock(event.created_at)} {event.type}{stage}{message}"


def print_events(events: Iterable[EventRecord]) -> EventRecord | None:
    last = None
    for event in events:
        console.print(event_line(event), markup=False)
        last = event
    return last


class LiveView:
    """Stage table plus the last few events, redrawn as events arrive."""

    def __init__(self, deployment_id: str, stages: list[str]) -> None:
        self.deployment_id = deployment_id
        self.status: dict[str, str] = dict.fromkeys(stages, "pending")
        self.started: dict[str, datetime] = {}
        self.ended: dict[str, datetime] = {}
        self.recent: deque[str] = deque(maxlen=6)
        self.headline = "queued"

    def apply(self, event: EventRecord) -> None:
        self.recent.append(event_line(event))
        if event.stage and event.stage in self.status:
            self._stage_event(event)
        elif event.type in (ev.DEPLOYMENT_STARTED, ev.APPROVED):
            self.headline = "running"
        elif event.type == ev.APPROVAL_REQUIRED:
            self.headline = "awaiting approval"
        elif event.type == ev.LEASE_WAITING:
            self.headline = "waiting for the environment's lease"
        elif event.type in FINAL_HEADLINES:
            self.headline = FINAL_HEADLINES[event.type]

    def _stage_event(self, event: EventRecord) -> None:
        assert event.stage is not None
        if event.type == ev.STAGE_STARTED:
            self.started.setdefault(event.stage, event.created_at)
        status = STAGE_STATUS_BY_EVENT.get(event.type)
        if event.type in (ev.STAGE_COMPLETED, ev.STAGE_COMPLETION_EVENTS.get(event.stage)):
            status = "succeeded"
        if status is None:
            return
        self.status[event.stage] = status
        if status in ("succeeded", "failed", "skipped"):
            self.ended[event.stage] = event.created_at

    def render(self) -> Group:
        table = Table(expand=False)
        table.add_column("stage")
        table.add_column("status")
        table.add_column("time", justify="right")
        now = datetime.now().astimezone()
        for stage, status in self.status.items():
            start = self.started.get(stage)
            end = self.ended.get(stage) or (now if status in ("running", "retrying") else None)
            took = f"{(end - start).total_seconds():.1f}s" if start and end else "-"
            table.add_row(stage, styled(status), took)
        headline = Text(f"deployment {self.deployment_id}: {self.headline}", style="bold")
        return Group(headline, table, Text("\n".join(self.recent), style="dim"))


def follow_live(deployment_id: str, stages: list[str], events: Iterable[EventRecord]) -> None:
    view = LiveView(deployment_id, stages)
    with Live(view.render(), console=console, refresh_per_second=8, transient=False) as live:
        last_draw = 0.0
        for event in events:
            view.apply(event)
            if time.monotonic() - last_draw > 0.05:
                live.update(view.render())
                last_draw = time.monotonic()
        live.update(view.render())
