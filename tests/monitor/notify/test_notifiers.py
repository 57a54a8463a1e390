"""Each notifier against a real server started by the test: the generic webhook (the
Alertmanager payload, field by field), the Slack-compatible webhook, and email through an
aiosmtpd SMTP server (with a login whose password is a secret reference)."""

from __future__ import annotations

import email.utils

import pytest

from shipway.config.secrets import SecretBackend
from shipway.manifest.monitoring import NotifyChannel
from shipway.monitor.alerts.model import fingerprint
from shipway.monitor.notify.interface import ChannelSecrets, Notification, NotifyError
from shipway.monitor.notify.registry import notifier_for

from .conftest import CANARY, make_alert
from .servers import http_server, smtp_server


def notification(*alerts: object) -> Notification:
    return Notification(
        project="notes",
        environment="dev",
        receiver="ops",
        group_key='{}:{alertname="HighErrorRate"}',
        group_labels={"alertname": "HighErrorRate"},
        alerts=tuple(alerts),  # type: ignore[arg-type]
    )


def test_webhook_posts_the_alertmanager_payload(secrets: SecretBackend) -> None:
    firing, resolved = make_alert("firing", "a"), make_alert("resolved", "b", "was high")
    with http_server() as server:
        channel = NotifyChannel.model_validate(
            {
                "webhook": server.url + "/hook",
                "headers": {"Authorization": "Bearer ${secret:hook_token}", "X-Team": "ops"},
            }
        )
        notifier = notifier_for("ops", channel, ChannelSecrets(secrets))
        notifier.send(notification(firing, resolved), timeout=5)
    assert notifier.kind == "webhook" and notifier.send_resolved is True
    (got,) = server.received
    assert got.path == "/hook"
    assert got.headers["Authorization"] == f"Bearer {CANARY}"
    assert got.headers["X-Team"] == "ops"
    assert got.headers["Content-Type"] == "application/json"
    body = got.body
    assert body["version"] == "4"
    assert body["groupKey"] == '{}:{alertname="HighErrorRate"}'
    assert body["status"] == "firing"
    assert body["receiver"] == "ops"
    assert body["truncatedAlerts"] == 0
    assert body["groupLabels"] == {"alertname": "HighErrorRate"}
    assert body["commonLabels"] == {"alertname": "HighErrorRate", "severity": "critical"}
    assert body["commonAnnotations"] == {}
    first, second = body["alerts"]
    assert first["status"] == "firing"
    assert first["labels"] == firing.labels
    assert first["annotations"] == {"summary": "errors are high"}
    assert first["startsAt"] == "2026-12-03T12:00:00.000Z"
    assert first["endsAt"] == "0001-01-01T00:00:00Z"
    assert first["fingerprint"] == fingerprint(firing.labels)
    assert len(first["fingerprint"]) == 16
    assert second["status"] == "resolved"
    assert second["endsAt"] == "2026-12-03T12:05:00.000Z"


def test_all_resolved_makes_a_resolved_payload(secrets: SecretBackend) -> None:
    with http_server() as server:
        channel = NotifyChannel.model_validate({"webhook": server.url})
        notifier_for("ops", channel, ChannelSecrets(secrets)).send(
            notification(make_alert("resolved")), timeout=5
        )
    body = server.received[0].body
    assert body["status"] == "resolved"
    assert body["commonAnnotations"] == {"summary": "errors are high"}


def test_slack_webhook_sends_text_and_blocks(secrets: SecretBackend) -> None:
    with http_server() as server:
        channel = NotifyChannel.model_validate({"slack": server.url + "/services/T0/B0"})
        notifier = notifier_for("chat", channel, ChannelSecrets(secrets))
        notifier.send(notification(make_alert("firing", summary="5xx <over> 5%")), timeout=5)
    assert notifier.kind == "slack" and notifier.send_resolved is False
    body = server.received[0].body
    assert body["text"] == "[FIRING:1] HighErrorRate (a critical) in notes/dev"
    header, section = body["blocks"]
    assert header["type"] == "header"
    assert header["text"]["text"] == body["text"]
    assert section["type"] == "section"
    assert section["text"]["type"] == "mrkdwn"
    assert section["text"]["text"].startswith("*FIRING* 5xx &lt;over&gt; 5%")
    assert "alertname=HighErrorRate" in section["text"]["text"]


def test_http_errors_say_whether_to_retry(secrets: SecretBackend) -> None:
    channel_for = lambda url: NotifyChannel.model_validate({"webhook": url})  # noqa: E731
    with http_server(fail_first=1, fail_status=400) as server:
        notifier = notifier_for("ops", channel_for(server.url), ChannelSecrets(secrets))
        with pytest.raises(NotifyError) as bad_request:
            notifier.send(notification(make_alert()), timeout=5)
    assert bad_request.value.retryable is False
    assert "HTTP 400" in str(bad_request.value)
    with http_server(fail_first=1, fail_status=503) as server:
        notifier = notifier_for("ops", channel_for(server.url), ChannelSecrets(secrets))
        with pytest.raises(NotifyError) as unavailable:
            notifier.send(notification(make_alert()), timeout=5)
    assert unavailable.value.retryable is True


def test_a_secret_url_never_shows_in_errors(secrets: SecretBackend) -> None:
    # Nothing listens on port 9 (discard) of 127.0.0.1: the connection is refused.
    channel = NotifyChannel.model_validate(
        {"webhook": "http://127.0.0.1:9/hooks/${secret:hook_token}"}
    )
    holder = ChannelSecrets(secrets)
    with pytest.raises(NotifyError) as failed:
        notifier_for("ops", channel, holder).send(notification(make_alert()), timeout=2)
    assert CANARY not in str(failed.value)
    assert failed.value.retryable is True


def test_email_goes_through_smtp_with_a_secret_password(secrets: SecretBackend) -> None:
    with smtp_server(login=("alerts", CANARY)) as server:
        channel = NotifyChannel.model_validate(
            {
                "email": {
                    "to": ["oncall@example.com", "lead@example.com"],
                    "from": "shipway@example.com",
                    "host": "127.0.0.1",
                    "port": server.port,
                    "starttls": False,
                    "username": "alerts",
                    "password": "${secret:smtp_password}",
                }
            }
        )
        notifier = notifier_for("mail", channel, ChannelSecrets(secrets))
        notifier.send(notification(make_alert("firing"), make_alert("firing", "b")), timeout=5)
    assert notifier.kind == "email" and notifier.send_resolved is False
    assert server.logins == [("alerts", CANARY)]
    (mail,) = server.mails
    assert mail.sender == "shipway@example.com"
    assert mail.recipients == ["oncall@example.com", "lead@example.com"]
    message = mail.message
    assert message["Subject"] == "[FIRING:2] HighErrorRate (critical)"
    assert message["From"] == "shipway@example.com"
    assert message["To"] == "oncall@example.com, lead@example.com"
    assert email.utils.parsedate_to_datetime(message["Date"]) is not None
    assert message["Message-ID"]
    body = message.get_payload(decode=True).decode()
    assert "project notes, environment dev" in body
    assert body.count("FIRING HighErrorRate") == 2
    assert "summary: errors are high" in body
    assert "instance=b" in body
    assert CANARY not in message.as_string()


def test_a_refused_recipient_is_a_permanent_failure(secrets: SecretBackend) -> None:
    with smtp_server() as server:
        channel = NotifyChannel.model_validate(
            {
                "email": {
                    "to": ["nobody@refused.example"],
                    "from": "shipway@example.com",
                    "host": "127.0.0.1",
                    "port": server.port,
                    "starttls": False,
                }
            }
        )
        with pytest.raises(NotifyError) as failed:
            notifier_for("mail", channel, ChannelSecrets(secrets)).send(
                notification(make_alert()), timeout=5
            )
    assert failed.value.retryable is False
    assert "SMTP 550" in str(failed.value)
    assert server.mails == []
