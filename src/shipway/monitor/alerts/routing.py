"""From alert instances to notifications, as Alertmanager's dispatcher and notification
pipeline do it (https://prometheus.io/docs/alerting/latest/configuration/#route):

- each firing or resolved alert goes to every channel its rule names (the receivers), into
  the group of that receiver whose `group_by` label values it shares;
- a new group waits `group_wait` before its first notification, then is flushed every
  `group_interval`; a group left without alerts is closed (the next alert waits again);
- at a flush, silenced alerts are left out; the notification log of the receiver decides
  whether to send (Alertmanager's `DedupStage.needsUpdate`): a new firing alert, all
  alerts resolved, a newly resolved alert (when the receiver wants resolved ones) or
  `repeat_interval` passed since the last notification;
- a resolved alert leaves its group after the first successful flush that saw it.

`plan` is pure: it reads states and returns what to send and the states to store, so the
rules are testable with any clock.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from shipway.manifest.monitoring import AlertingSpec
from shipway.monitor.alerts.model import Alert, GroupState, Silence

#: `group_by: ['...']` groups by every label (one group per alert), as in Alertmanager.
ALL_LABELS = "..."


@dataclass(frozen=True)
class RouteSettings:
    group_by: tuple[str, ...] = ("alertname",)
    group_wait: float = 30.0
    group_interval: float = 300.0
    repeat_interval: float = 4 * 3600.0

    @classmethod
    def from_spec(cls, spec: AlertingSpec) -> RouteSettings:
        return cls(
            group_by=tuple(spec.group_by),
            group_wait=float(spec.group_wait),
            group_interval=float(spec.group_interval),
            repeat_interval=float(spec.repeat_interval),
        )


@dataclass(frozen=True)
class Flush:
    """A group due now: what to send (maybe nothing) and its state before."""

    group: GroupState
    #: Alerts to send: the group's firing ones, then its resolved ones when the receiver
    #: wants them. Empty with `log` True: the log changes but nothing is sent.
    alerts: tuple[Alert, ...]
    firing: frozenset[str]
    resolved: frozenset[str]
    #: The notification log entry is to be replaced (needsUpdate was true).
    log: bool
    #: The group still has firing alerts after this flush (else it is closed).
    keeps_firing: bool

    def after(self, now: datetime, ok: bool, settings: RouteSettings) -> GroupState:
        """The group's state once the flush at `now` succeeded (`ok`) or failed."""
        if not ok:  # keep everything: the next flush tries again
            return replace(self.group, next_flush_at=now + _s(settings.group_interval))
        state = replace(self.group, flushed_at=now)
        if self.log:
            state = replace(state, notified_at=now, firing=self.firing, resolved=self.resolved)
        following = now + _s(settings.group_interval) if self.keeps_firing else None
        return replace(state, next_flush_at=following)


def _s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def group_labels(labels: Mapping[str, str], group_by: Iterable[str]) -> dict[str, str]:
    names = list(group_by)
    if ALL_LABELS in names:
        return dict(labels)
    return {name: labels[name] for name in names if name in labels}


def group_key(labels: Mapping[str, str]) -> str:
    """Alertmanager's group key for the root route: `{}:{alertname="X"}`."""
    inner = ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(labels.items()))
    return "{}:{" + inner + "}"


def group_id(project: str, environment: str, receiver: str, key: str) -> str:
    text = json.dumps([project, environment, receiver, key])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def needs_update(
    entry: GroupState,
    firing: frozenset[str],
    resolved: frozenset[str],
    send_resolved: bool,
    repeat_interval: float,
    now: datetime,
) -> bool:
    """Alertmanager's `DedupStage.needsUpdate` against the receiver's last notification."""
    if entry.notified_at is None:
        return bool(firing)
    if not firing <= entry.firing:
        return True
    if not firing:
        # Every alert the receiver was told about resolved (sent even without
        # send_resolved, to clear the log); none known: nothing to tell.
        return bool(entry.firing)
    if send_resolved and not resolved <= entry.resolved:
        return True
    return entry.notified_at < now - _s(repeat_interval)


def plan(
    project: str,
    environment: str,
    alerts: Iterable[Alert],
    receivers_of: Mapping[str, Iterable[str]],
    send_resolved: Mapping[str, bool],
    groups: Iterable[GroupState],
    silences: Iterable[Silence],
    settings: RouteSettings,
    now: datetime,
) -> tuple[list[GroupState], list[Flush]]:
    """The group states to store now (opened or closed groups) and the flushes due.

    `receivers_of` maps a rule name to its channels; `send_resolved` holds every channel
    that exists (a rule naming another one is ignored)."""
    states = {g.id: g for g in groups}
    members: dict[str, list[Alert]] = {}
    for alert in _latest(alerts):
        for receiver in receivers_of.get(alert.rule, ()):
            if receiver not in send_resolved:
                continue
            labels = group_labels(alert.labels, settings.group_by)
            key = group_key(labels)
            gid = group_id(project, environment, receiver, key)
            states.setdefault(gid, GroupState(gid, project, environment, receiver, key, labels))
            members.setdefault(gid, []).append(alert)
    active_silences = [s for s in silences if s.active(now)]
    updates: list[GroupState] = []
    flushes: list[Flush] = []
    for gid, state in states.items():
        present = [a for a in members.get(gid, []) if _in_group(a, state)]
        if not present:
            if state.next_flush_at is not None:
                updates.append(replace(state, next_flush_at=None))
            continue
        if state.next_flush_at is None:
            state = replace(state, next_flush_at=now + _s(settings.group_wait))
            updates.append(state)
        assert state.next_flush_at is not None
        if now < state.next_flush_at:
            continue
        shown = [a for a in present if not any(s.mutes(a.labels, now) for s in active_silences)]
        firing = frozenset(a.fingerprint for a in shown if a.state == "firing")
        resolved = frozenset(a.fingerprint for a in shown if a.state == "resolved")
        wants_resolved = send_resolved[state.receiver]
        log = bool(shown) and needs_update(
            state, firing, resolved, wants_resolved, settings.repeat_interval, now
        )
        sent: tuple[Alert, ...] = ()
        if log:
            sent = tuple(a for a in shown if a.state == "firing")
            if wants_resolved:
                sent += tuple(a for a in shown if a.state == "resolved")
        keeps = any(a.state == "firing" for a in present)
        flushes.append(Flush(state, sent, firing, resolved, log, keeps))
    return updates, flushes


def _in_group(alert: Alert, state: GroupState) -> bool:
    if alert.state == "firing":
        return True
    return alert.resolved_at is not None and (
        state.flushed_at is None or alert.resolved_at > state.flushed_at
    )


def _latest(alerts: Iterable[Alert]) -> list[Alert]:
    """What Alertmanager would hold: per fingerprint, the firing instance, else the most
    recently resolved one; pending instances are never sent."""
    chosen: dict[str, Alert] = {}
    for alert in alerts:
        if alert.state == "pending":
            continue
        held = chosen.get(alert.fingerprint)
        if held is None or _newer(alert, held):
            chosen[alert.fingerprint] = alert
    return list(chosen.values())


def _newer(alert: Alert, held: Alert) -> bool:
    if (alert.state == "firing") != (held.state == "firing"):
        return alert.state == "firing"
    return alert.active_at > held.active_at
