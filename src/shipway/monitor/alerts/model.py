"""What alerting works with: alert instances, silences, label matchers, fingerprints.

An alert instance is one rule with one label set. Its fingerprint is the 64-bit FNV-1a
hash of its sorted labels, as Prometheus and Alertmanager compute it, so a fingerprint
shipway sends in a webhook is the one an Alertmanager would show for the same labels.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, get_args

from shipway.errors import InputError

AlertState = Literal["pending", "firing", "resolved"]
#: Inactive alerts are not stored: an instance without a row is inactive.
ALERT_STATES: frozenset[str] = frozenset(get_args(AlertState))

_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_SEPARATOR = b"\xff"


def fingerprint(labels: Mapping[str, str]) -> str:
    """Prometheus's `LabelSet.Fingerprint()`: FNV-1a 64 over sorted `name 0xff value 0xff`."""
    digest = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name.encode(), _SEPARATOR, labels[name].encode(), _SEPARATOR):
            for byte in part:
                digest ^= byte
                digest = (digest * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{digest:016x}"


@dataclass(frozen=True)
class Alert:
    """One alert instance (rule + label set) and where it is in its life."""

    project: str
    environment: str
    rule: str
    labels: dict[str, str]
    annotations: dict[str, str]
    state: AlertState
    value: float | None
    active_at: datetime
    evaluated_at: datetime
    fired_at: datetime | None = None
    resolved_at: datetime | None = None
    fingerprint: str = ""

    def __post_init__(self) -> None:
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", fingerprint(self.labels))

    @property
    def name(self) -> str:
        return self.labels.get("alertname", self.rule)


MatchOp = Literal["=", "!=", "=~", "!~"]
_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


@dataclass(frozen=True)
class Matcher:
    """A label matcher as Alertmanager writes them: `name=value`, `!=`, `=~`, `!~`.
    Regular expressions are anchored at both ends, as in Alertmanager."""

    name: str
    op: MatchOp
    value: str
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.op in ("=~", "!~"):
            try:
                object.__setattr__(self, "_regex", re.compile(f"(?:{self.value})\\Z"))
            except re.error as exc:
                raise InputError(f"invalid regular expression in matcher {self}: {exc}") from exc

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """`alertname=HighErrorRate`, `severity!=info`, `service=~"api|web"`."""
        found = _MATCHER.match(text)
        if found is None:
            raise InputError(
                f"invalid matcher {text[:80]!r}: write NAME=VALUE, NAME!=VALUE, "
                "NAME=~REGEX or NAME!~REGEX"
            )
        name, op, value = found.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        return cls(name, op, value)  # type: ignore[arg-type]

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self._regex is not None:
            found = self._regex.match(actual) is not None
            return found if self.op == "=~" else not found
        return actual == self.value if self.op == "=" else actual != self.value

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "op": self.op, "value": self.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> Matcher:
        return cls(data["name"], data["op"], data["value"])  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value!r}"


@dataclass(frozen=True)
class Silence:
    """Mutes every alert whose labels all `matchers` match, from `starts_at` to `ends_at`."""

    id: str
    project: str
    environment: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    author: str
    comment: str
    created_at: datetime

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def mutes(self, labels: Mapping[str, str], now: datetime) -> bool:
        return self.active(now) and all(m.matches(labels) for m in self.matchers)

    def status(self, now: datetime) -> str:
        """active, pending (starts later) or expired, as Alertmanager shows it."""
        if now < self.starts_at:
            return "pending"
        return "active" if now < self.ends_at else "expired"


@dataclass(frozen=True)
class Attempt:
    """One try to deliver one notification to one channel."""

    project: str
    environment: str
    channel: str
    kind: str
    group_key: str
    status: str
    alerts: int
    attempt: int
    outcome: Literal["sent", "failed"]
    error: str | None
    at: datetime
    duration_ms: float
    id: int | None = None


@dataclass(frozen=True)
class GroupState:
    """One notification group of one receiver: when it flushes next, and what the last
    notification told the receiver (Alertmanager's notification log entry)."""

    id: str
    project: str
    environment: str
    receiver: str
    group_key: str
    group_labels: dict[str, str]
    #: None while the group has no alerts (the next alert waits `group_wait` again).
    next_flush_at: datetime | None = None
    #: The last flush (resolved alerts older than it have left the group).
    flushed_at: datetime | None = None
    notified_at: datetime | None = None
    firing: frozenset[str] = frozenset()
    resolved: frozenset[str] = frozenset()
