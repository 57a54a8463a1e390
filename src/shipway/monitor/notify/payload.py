"""The JSON body of a generic webhook: Alertmanager's webhook payload, version 4
(https://prometheus.io/docs/alerting/latest/configuration/#webhook_config), so a
receiver written for Alertmanager reads shipway's notifications unchanged."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shipway.monitor.alerts.model import Alert
from shipway.monitor.notify.interface import Notification

#: Go's zero time, which Alertmanager sends as `endsAt` of an alert that still fires.
ZERO_TIME = "0001-01-01T00:00:00Z"


def rfc3339(moment: datetime | None) -> str:
    if moment is None:
        return ZERO_TIME
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def alert_payload(alert: Alert) -> dict[str, Any]:
    return {
        "status": "firing" if alert.state == "firing" else "resolved",
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "startsAt": rfc3339(alert.fired_at or alert.active_at),
        "endsAt": rfc3339(alert.resolved_at if alert.state == "resolved" else None),
        "generatorURL": "",
        "fingerprint": alert.fingerprint,
    }


def webhook_payload(notification: Notification) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": notification.group_key,
        "truncatedAlerts": notification.truncated,
        "status": notification.status,
        "receiver": notification.receiver,
        "groupLabels": dict(notification.group_labels),
        "commonLabels": notification.common_labels(),
        "commonAnnotations": notification.common_annotations(),
        "externalURL": "",
        "alerts": [alert_payload(a) for a in notification.alerts],
    }
