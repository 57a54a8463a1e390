"""Slack-compatible incoming webhook: a `text` line (what notifications and clients that
ignore blocks show) and `blocks` with one section per alert."""

from __future__ import annotations

from typing import Any

from shipway.monitor.alerts.model import Alert
from shipway.monitor.notify.interface import Notification, Notifier
from shipway.monitor.notify.webhook import post_json

MAX_ALERT_BLOCKS = 20  # Slack allows 50 blocks per message; keep room for the header.


def slack_payload(notification: Notification) -> dict[str, Any]:
    title = f"{notification.title()} in {notification.project}/{notification.environment}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}}
    ]
    for alert in notification.alerts[:MAX_ALERT_BLOCKS]:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _alert_text(alert)}})
    hidden = len(notification.alerts) - MAX_ALERT_BLOCKS
    if hidden > 0:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"and {hidden} more"}]}
        )
    return {"text": title, "blocks": blocks}


def _alert_text(alert: Alert) -> str:
    state = "FIRING" if alert.state == "firing" else "RESOLVED"
    summary = alert.annotations.get("summary") or alert.labels.get("alertname", alert.rule)
    lines = [f"*{state}* {_escape(summary)}"]
    if "description" in alert.annotations:
        lines.append(_escape(alert.annotations["description"]))
    labels = ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()))
    lines.append(f"`{_escape(labels)}`")
    return "\n".join(lines)[:3000]


def _escape(text: str) -> str:
    """Slack's three control characters (https://api.slack.com/reference/surfaces/formatting)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackNotifier(Notifier):
    kind = "slack"

    def send(self, notification: Notification, timeout: float) -> None:
        assert self.channel.slack is not None
        post_json(
            self.channel.slack,
            slack_payload(notification),
            dict(self.channel.headers),
            timeout,
            self.secrets,
        )
