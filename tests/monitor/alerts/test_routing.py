"""Grouping, group_wait / group_interval, deduplication, repeat_interval, resolved
notifications and silences, as Alertmanager applies them, on an explicit clock. The
group states live in a real store between steps."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shipway.monitor.alerts.model import Alert, Matcher, Silence
from shipway.monitor.alerts.routing import Flush, RouteSettings, plan
from shipway.store import Store

T0 = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)
SETTINGS = RouteSettings(("alertname",), group_wait=30, group_interval=300, repeat_interval=3600)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def alert(
    instance: str, state: str = "firing", name: str = "HighErrorRate", **times: float
) -> Alert:
    return Alert(
        project="notes",
        environment="dev",
        rule=name,
        labels={"alertname": name, "instance": instance},
        annotations={},
        state=state,  # type: ignore[arg-type]
        value=1.0,
        active_at=at(times.get("active", 0)),
        evaluated_at=T0,
        fired_at=at(times.get("active", 0)),
        resolved_at=at(times["resolved"]) if "resolved" in times else None,
    )


class Router:
    """plan() over states kept in the store; every flush succeeds unless told."""

    def __init__(self, store: Store, settings: RouteSettings = SETTINGS, **resolved: bool) -> None:
        self.store = store
        self.settings = settings
        self.send_resolved = {"ops": True, "mail": False, **resolved}
        self.silences: list[Silence] = []

    def tick(
        self,
        seconds: float,
        alerts: list[Alert],
        *,
        ok: bool = True,
        receivers: tuple[str, ...] = ("ops",),
    ) -> list[Flush]:
        now = at(seconds)
        updates, flushes = plan(
            "notes",
            "dev",
            alerts,
            {"HighErrorRate": receivers, "DiskFull": receivers},
            self.send_resolved,
            self.store.alerts.groups("notes", "dev"),
            self.silences,
            self.settings,
            now,
        )
        for state in updates:
            self.store.alerts.save_group(state)
        for flush in flushes:
            self.store.alerts.save_group(flush.after(now, ok, self.settings))
        return flushes

    def sent(self, seconds: float, alerts: list[Alert], **kw: object) -> list[list[str]]:
        """What each flush at `seconds` sends: `instance:state` per alert."""
        return [
            [f"{a.labels['instance']}:{a.state}" for a in f.alerts]
            for f in self.tick(seconds, alerts, **kw)  # type: ignore[arg-type]
            if f.alerts
        ]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'state.db'}") as opened:
        yield opened


def test_group_wait_then_one_notification_for_the_group(store: Store) -> None:
    router = Router(store)
    a, b = alert("a"), alert("b")
    assert router.sent(0, [a]) == []
    assert router.sent(20, [a, b]) == []  # still in group_wait
    assert router.sent(30, [a, b]) == [["a:firing", "b:firing"]]


def test_pending_alerts_are_never_sent(store: Store) -> None:
    router = Router(store, replace(SETTINGS, group_wait=0))
    assert router.tick(0, [replace(alert("a"), state="pending")]) == []
    assert store.alerts.groups("notes", "dev") == []


def test_group_by_splits_groups(store: Store) -> None:
    router = Router(store)
    alerts = [alert("a"), alert("b", name="DiskFull")]
    router.tick(0, alerts)
    flushes = router.tick(30, alerts)
    assert sorted(f.group.group_key for f in flushes) == [
        '{}:{alertname="DiskFull"}',
        '{}:{alertname="HighErrorRate"}',
    ]
    by_instance = Router(store, replace(SETTINGS, group_by=("alertname", "instance")))
    assert len(by_instance.tick(1000, [alert("x"), alert("y")])) == 0  # new groups wait


def test_no_repeat_before_repeat_interval_then_repeat(store: Store) -> None:
    router = Router(store)
    a = alert("a")
    router.tick(0, [a])
    assert router.sent(30, [a]) == [["a:firing"]]
    for t in range(330, 3631, 300):  # group_interval flushes: nothing new, no repeat yet
        assert router.sent(t, [a]) == [], t
    # Alertmanager repeats at the first flush strictly after repeat_interval has passed.
    assert router.sent(3930, [a]) == [["a:firing"]]
    assert router.sent(4230, [a]) == []


def test_a_new_alert_waits_for_the_next_group_interval(store: Store) -> None:
    router = Router(store)
    a, b = alert("a"), alert("b")
    router.tick(0, [a])
    router.sent(30, [a])
    assert router.sent(100, [a, b]) == []
    assert router.sent(330, [a, b]) == [["a:firing", "b:firing"]]


def test_resolved_is_notified_once_and_closes_the_group(store: Store) -> None:
    router = Router(store)
    router.tick(0, [alert("a")])
    router.sent(30, [alert("a")])
    gone = alert("a", "resolved", resolved=200)
    assert router.sent(330, [gone]) == [["a:resolved"]]
    assert router.sent(630, [gone]) == []
    (group,) = store.alerts.groups("notes", "dev")
    assert group.next_flush_at is None and group.firing == frozenset()
    # The same alert firing again opens the group anew: group_wait again.
    assert router.sent(700, [alert("a")]) == []
    assert router.sent(730, [alert("a")]) == [["a:firing"]]


def test_partly_resolved_groups_send_resolved_only_when_wanted(store: Store) -> None:
    router = Router(store)
    both = ("ops", "mail")
    router.tick(0, [alert("a"), alert("b")], receivers=both)
    router.tick(30, [alert("a"), alert("b")], receivers=both)
    now = [alert("a"), alert("b", "resolved", resolved=100)]
    flushes = {f.group.receiver: f for f in router.tick(330, now, receivers=both)}
    assert [a.state for a in flushes["ops"].alerts] == ["firing", "resolved"]
    assert flushes["mail"].alerts == ()  # email: send_resolved is false, nothing new firing


def test_all_resolved_clears_the_log_even_without_send_resolved(store: Store) -> None:
    router = Router(store)
    router.tick(0, [alert("a")], receivers=("mail",))
    router.tick(30, [alert("a")], receivers=("mail",))
    (flush,) = router.tick(330, [alert("a", "resolved", resolved=100)], receivers=("mail",))
    assert flush.log and flush.alerts == ()
    (group,) = store.alerts.groups("notes", "dev")
    assert group.firing == frozenset() and group.notified_at == at(330)


def test_fired_and_resolved_within_group_wait_is_not_sent(store: Store) -> None:
    router = Router(store)
    router.tick(0, [alert("a")])
    assert router.sent(30, [alert("a", "resolved", resolved=10)]) == []


def test_a_failed_flush_is_tried_again_at_the_next_interval(store: Store) -> None:
    router = Router(store)
    router.tick(0, [alert("a")])
    assert router.sent(30, [alert("a")], ok=False) == [["a:firing"]]
    assert router.sent(100, [alert("a")]) == []
    assert router.sent(330, [alert("a")]) == [["a:firing"]]
    assert router.sent(630, [alert("a")]) == []


def test_silenced_alerts_are_not_sent(store: Store) -> None:
    router = Router(store)
    silence = store.alerts.add_silence(
        "notes",
        "dev",
        [Matcher.parse("instance=b")],
        starts_at=T0,
        ends_at=at(400),
        author="ana",
        comment="known",
        now=T0,
    )
    router.silences = store.alerts.silences("notes", "dev")
    assert router.silences == [silence]
    router.tick(0, [alert("a"), alert("b")])
    assert router.sent(30, [alert("a"), alert("b")]) == [["a:firing"]]
    # When the silence ends, b is new to the receiver: it is sent at the next flush.
    assert router.sent(330, [alert("a"), alert("b")]) == []
    assert router.sent(630, [alert("a"), alert("b")]) == [["a:firing", "b:firing"]]


def test_everything_silenced_sends_nothing_and_keeps_the_log(store: Store) -> None:
    router = Router(store)
    store.alerts.add_silence(
        "notes",
        "dev",
        [Matcher.parse("alertname=~High.*")],
        starts_at=T0,
        ends_at=at(10_000),
        author="ana",
        comment="",
        now=T0,
    )
    router.silences = store.alerts.silences("notes", "dev")
    router.tick(0, [alert("a")])
    (flush,) = router.tick(30, [alert("a")])
    assert flush.alerts == () and not flush.log
    (group,) = store.alerts.groups("notes", "dev")
    assert group.notified_at is None and group.next_flush_at == at(330)


def test_expired_silences_no_longer_mute(store: Store) -> None:
    silence = store.alerts.add_silence(
        "notes",
        "dev",
        [Matcher.parse("instance=a")],
        starts_at=T0,
        ends_at=at(3600),
        author="ana",
        comment="deploying",
        now=T0,
    )
    assert silence.mutes({"instance": "a"}, at(10))
    expired = store.alerts.expire_silence(silence.id, at(20))
    assert expired.ends_at == at(20) and expired.status(at(21)) == "expired"
    assert store.alerts.silences("notes", "dev", active_at=at(21)) == []
    assert store.alerts.silence(silence.id).ends_at == at(20)


def test_resolved_then_pending_again_still_notifies_the_resolution(store: Store) -> None:
    router = Router(store)
    router.tick(0, [alert("a")])
    assert router.sent(30, [alert("a")]) == [["a:firing"]]
    back = replace(alert("a", active=200), state="pending")
    assert router.sent(330, [alert("a", "resolved", resolved=100), back]) == [["a:resolved"]]


def test_resolved_then_firing_again_within_an_interval_is_not_news(store: Store) -> None:
    router = Router(store)
    router.tick(0, [alert("a")])
    router.sent(30, [alert("a")])
    flapped = [alert("a", "resolved", resolved=100), alert("a", active=200)]
    assert router.sent(330, flapped) == []  # the receiver was told it fires; it does
    assert router.sent(3930, flapped) == [["a:firing"]]  # repeat, the new instance only
