"""The live deployment view: stage states follow the events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rich.console import Console

from shipway.cli.live import LiveView, event_line
from shipway.store.records import EventRecord

T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def event(n: int, kind: str, stage: str | None = None, message: str = "") -> EventRecord:
    return EventRecord(
        id=n,
        deployment_id="d",
        correlation_id="c",
        type=kind,
        stage=stage,
        message=message,
        data={},
        created_at=T0 + timedelta(seconds=n),
    )


def render(view: LiveView) -> str:
    console = Console(record=True, width=120, color_system=None)
    console.print(view.render())
    return console.export_text()


def test_stage_states_follow_events() -> None:
    view = LiveView("d", ["validate", "provision", "configure", "scan"])
    for e in [
        event(1, "DEPLOYMENT_STARTED"),
        event(2, "STAGE_STARTED", "validate"),
        event(4, "VALIDATION_COMPLETED", "validate"),
        event(5, "STAGE_STARTED", "provision"),
        event(6, "STAGE_FAILED", "provision", "boom"),
        event(7, "STAGE_SKIPPED", "scan", "not configured"),
        event(8, "COMPENSATION_COMPLETED", "validate"),
    ]:
        view.apply(e)
    assert view.status == {
        "validate": "compensated",
        "provision": "failed",
        "configure": "pending",
        "scan": "skipped",
    }
    text = render(view)
    assert "validate" in text and "compensated" in text
    assert "2.0s" in text  # validate ran from t=2 to t=4... then was compensated at t=8
    assert "STAGE_FAILED [provision] boom" in text


def test_approval_headline() -> None:
    view = LiveView("d", ["release"])
    view.apply(event(1, "APPROVAL_REQUIRED"))
    assert "awaiting approval" in render(view)


def test_event_line_is_one_line() -> None:
    line = event_line(event(1, "STAGE_FAILED", "test", "a\nmulti\nline  message"))
    assert "\n" not in line
    assert line.endswith("STAGE_FAILED [test] a multi line message")


def test_final_headline() -> None:
    view = LiveView("d", ["release"])
    view.apply(event(1, "DEPLOYMENT_STARTED"))
    view.apply(event(2, "ROLLED_BACK"))
    assert "failed and rolled back" in render(view)
