"""The `Notifier` seam: deliver one notification (a group of alerts) to one channel.

A notifier makes one attempt per `send` call, with a timeout; retrying is the caller's
(`delivery.py`). Secret references in the channel (`${secret:NAME}` in URLs, headers, the
SMTP password) are revealed through `ChannelSecrets` only while sending, and every error
message passes through `ChannelSecrets.mask` before anyone stores or prints it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from shipway.config.delivery import reveal, secret_names_in
from shipway.config.secrets import SecretBackend
from shipway.errors import ShipwayError
from shipway.manifest.monitoring import NotifyChannel
from shipway.monitor.alerts.model import Alert


class NotifyError(ShipwayError):
    """A notification was not delivered. `retryable` is False when trying again cannot
    help (a 4xx answer other than 429, a missing secret)."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class Notification:
    """A group's notification to one receiver: its alerts (firing, then resolved)."""

    project: str
    environment: str
    receiver: str
    group_key: str
    group_labels: dict[str, str]
    alerts: tuple[Alert, ...]
    #: How many alerts the group had that are not in `alerts` (Alertmanager's field).
    truncated: int = 0

    @property
    def status(self) -> str:
        """firing when any alert fires, else resolved."""
        return "firing" if any(a.state == "firing" for a in self.alerts) else "resolved"

    @property
    def firing(self) -> list[Alert]:
        return [a for a in self.alerts if a.state == "firing"]

    @property
    def resolved(self) -> list[Alert]:
        return [a for a in self.alerts if a.state == "resolved"]

    def common_labels(self) -> dict[str, str]:
        return _common([a.labels for a in self.alerts])

    def common_annotations(self) -> dict[str, str]:
        return _common([a.annotations for a in self.alerts])

    def title(self) -> str:
        """`[FIRING:2] HighErrorRate (notes dev)`, as Alertmanager's default subject."""
        count = len(self.firing) if self.status == "firing" else len(self.resolved)
        extra = sorted(v for k, v in self.common_labels().items() if k != "alertname")
        name = self.group_labels.get("alertname") or self.common_labels().get("alertname", "")
        suffix = f" ({' '.join(extra)})" if extra else ""
        return f"[{self.status.upper()}:{count}] {name}{suffix}".rstrip()


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first = maps[0]
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in maps[1:])}


@dataclass
class ChannelSecrets:
    """Reveals `${secret:NAME}` references of a channel at send time and remembers the
    values it revealed, so errors can be masked before they are stored."""

    backend: SecretBackend | None
    _seen: set[str] = field(default_factory=set)

    def reveal(self, text: str) -> str:
        names = secret_names_in([text])
        if not names:
            return reveal(text, {})
        if self.backend is None:
            raise NotifyError(
                f"the channel references secret {names[0]!r} but no secret backend is "
                "available here",
                retryable=False,
            )
        try:
            values = self.backend.get_many(names)
        except ShipwayError as exc:
            raise NotifyError(f"cannot read a secret: {exc}", retryable=False) from exc
        self._seen.update(v.get_secret_value() for v in values.values() if v.get_secret_value())
        return reveal(text, values)

    def reveal_all(self, texts: Mapping[str, str]) -> dict[str, str]:
        return {k: self.reveal(v) for k, v in texts.items()}

    def mask(self, text: str) -> str:
        for value in sorted(self._seen, key=len, reverse=True):
            text = text.replace(value, "***")
        return text


class Notifier(ABC):
    """Delivers notifications to one configured channel."""

    kind: ClassVar[str]
    #: Alertmanager's default for this kind of receiver (webhook: yes; slack, email: no).
    send_resolved_default: ClassVar[bool] = False

    def __init__(self, name: str, channel: NotifyChannel, secrets: ChannelSecrets) -> None:
        self.name = name
        self.channel = channel
        self.secrets = secrets

    @property
    def send_resolved(self) -> bool:
        if self.channel.send_resolved is None:
            return self.send_resolved_default
        return self.channel.send_resolved

    @abstractmethod
    def send(self, notification: Notification, timeout: float) -> None:
        """One attempt; raises NotifyError when it did not go through."""
