"""Email over SMTP (aiosmtplib): Alertmanager's default subject, a plain-text body with
one block per alert. STARTTLS or implicit TLS as the channel says; the password is a
`${secret:NAME}` reference read only for the login."""

from __future__ import annotations

import asyncio
import email.utils
from email.message import EmailMessage

import aiosmtplib

from shipway.monitor.alerts.model import Alert
from shipway.monitor.notify.interface import Notification, Notifier, NotifyError
from shipway.monitor.notify.payload import rfc3339


def email_message(notification: Notification, sender: str, to: list[str]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = notification.title()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = email.utils.formatdate(localtime=False)
    message["Message-ID"] = email.utils.make_msgid(domain="shipway.local")
    message["X-Shipway-Group-Key"] = notification.group_key
    lines = [
        f"{notification.title()}",
        f"project {notification.project}, environment {notification.environment}",
        "",
    ]
    for alert in notification.alerts:
        lines += _alert_lines(alert)
    message.set_content("\n".join(lines) + "\n")
    return message


def _alert_lines(alert: Alert) -> list[str]:
    state = "FIRING" if alert.state == "firing" else "RESOLVED"
    lines = [f"{state} {alert.labels.get('alertname', alert.rule)}"]
    lines += [f"  {k}: {v}" for k, v in sorted(alert.annotations.items())]
    lines.append("  labels: " + ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items())))
    lines.append(f"  since: {rfc3339(alert.fired_at or alert.active_at)}")
    if alert.resolved_at is not None:
        lines.append(f"  resolved: {rfc3339(alert.resolved_at)}")
    return [*lines, ""]


class EmailNotifier(Notifier):
    kind = "email"

    def send(self, notification: Notification, timeout: float) -> None:
        settings = self.channel.email
        assert settings is not None
        message = email_message(notification, settings.from_, list(settings.to))
        password = None if settings.password is None else self.secrets.reveal(settings.password)
        try:
            asyncio.run(
                aiosmtplib.send(
                    message,
                    hostname=settings.host,
                    port=settings.port,
                    username=settings.username,
                    password=password,
                    use_tls=settings.tls,
                    start_tls=settings.starttls,
                    timeout=timeout,
                )
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = [f"{r.recipient} ({r.code} {r.message})" for r in exc.recipients]
            raise NotifyError(
                self.secrets.mask(
                    f"SMTP {max(r.code for r in exc.recipients)}: refused " + ", ".join(refused)
                ),
                retryable=all(r.code < 500 for r in exc.recipients),
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            # 4xx is a temporary failure (try again), 5xx a permanent one (RFC 5321).
            raise NotifyError(
                self.secrets.mask(f"SMTP {exc.code}: {exc.message}"), retryable=exc.code < 500
            ) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise NotifyError(self.secrets.mask(f"{type(exc).__name__}: {exc}")) from None
