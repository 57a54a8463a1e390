"""Delivery with retries against a real server that fails the first attempts: every
attempt is recorded in the store (channel, status, outcome, error, time), errors that
cannot improve are not retried, the deadline bounds the tries, and no secret value is
stored."""

from __future__ import annotations

import json
import time

import sqlalchemy as sa

from shipway.config.secrets import SecretBackend
from shipway.manifest.monitoring import NotifyChannel
from shipway.monitor.notify.delivery import DeliveryPolicy, deliver
from shipway.monitor.notify.interface import ChannelSecrets, Notification
from shipway.monitor.notify.registry import notifier_for
from shipway.store import Store
from shipway.store.tables import notification_attempts

from .conftest import CANARY, make_alert
from .servers import http_server


def _notification() -> Notification:
    return Notification(
        project="notes",
        environment="dev",
        receiver="ops",
        group_key='{}:{alertname="HighErrorRate"}',
        group_labels={"alertname": "HighErrorRate"},
        alerts=(make_alert(),),
    )


def _channel(url: str) -> NotifyChannel:
    return NotifyChannel.model_validate(
        {"webhook": url, "headers": {"Authorization": "Bearer ${secret:hook_token}"}}
    )


def test_failed_attempts_are_retried_and_each_is_recorded(
    store: Store, secrets: SecretBackend
) -> None:
    with http_server(fail_first=2, fail_status=503) as server:
        notifier = notifier_for("ops", _channel(server.url), ChannelSecrets(secrets))
        result = deliver(notifier, _notification(), store.alerts, DeliveryPolicy(30, 0.05))
    assert result.ok and result.attempts == 3
    assert server.requests == 3 and len(server.received) == 1
    attempts = store.alerts.attempts("notes", "dev")
    assert [a.attempt for a in attempts] == [3, 2, 1]
    assert [a.outcome for a in attempts] == ["sent", "failed", "failed"]
    assert attempts[1].error == "HTTP 503: try later"
    assert attempts[0].error is None
    assert {a.channel for a in attempts} == {"ops"}
    assert {a.kind for a in attempts} == {"webhook"}
    assert {a.status for a in attempts} == {"firing"}
    assert {a.alerts for a in attempts} == {1}
    assert attempts[2].at <= attempts[1].at <= attempts[0].at


def test_a_client_error_is_not_retried(store: Store, secrets: SecretBackend) -> None:
    with http_server(fail_first=5, fail_status=404) as server:
        notifier = notifier_for("ops", _channel(server.url + "/gone"), ChannelSecrets(secrets))
        result = deliver(notifier, _notification(), store.alerts, DeliveryPolicy(30, 0.05))
    assert not result.ok and result.attempts == 1
    assert result.error is not None and result.error.startswith("HTTP 404")
    assert server.requests == 1


def test_the_deadline_ends_the_retries(store: Store, secrets: SecretBackend) -> None:
    with http_server(fail_first=1000) as server:
        notifier = notifier_for("ops", _channel(server.url), ChannelSecrets(secrets))
        started = time.monotonic()
        result = deliver(notifier, _notification(), store.alerts, DeliveryPolicy(1.5, 0.1))
        spent = time.monotonic() - started
    assert not result.ok
    assert spent < 10  # the deadline is 1.5 s; generous for a loaded machine
    assert 2 <= result.attempts == server.requests
    assert len(store.alerts.attempts("notes", "dev")) == result.attempts


def test_no_secret_reaches_the_stored_attempts(store: Store, secrets: SecretBackend) -> None:
    url = "http://127.0.0.1:9/hooks/${secret:hook_token}"  # refused: nothing listens there
    notifier = notifier_for("ops", _channel(url), ChannelSecrets(secrets))
    result = deliver(notifier, _notification(), store.alerts, DeliveryPolicy(1, 0.05))
    assert not result.ok
    assert result.error is not None and CANARY not in result.error
    with store.db.read() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.select(notification_attempts))]
    assert rows and CANARY not in json.dumps(rows, default=str)
    assert all(r["outcome"] == "failed" and r["error"] for r in rows)


def test_a_server_echoing_the_secret_header_is_masked(store: Store, secrets: SecretBackend) -> None:
    with http_server(fail_first=1, fail_status=400, echo=True) as server:
        notifier = notifier_for("ops", _channel(server.url), ChannelSecrets(secrets))
        result = deliver(notifier, _notification(), store.alerts, DeliveryPolicy(5, 0.05))
    assert not result.ok
    assert result.error == "HTTP 400: try later Bearer ***"
    (attempt,) = store.alerts.attempts("notes", "dev")
    assert attempt.error == "HTTP 400: try later Bearer ***"
