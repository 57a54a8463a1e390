"""Generic webhook: POSTs Alertmanager's JSON payload (`payload.py`) to a URL."""

from __future__ import annotations

from typing import Any

import httpx

from shipway.monitor.notify.interface import ChannelSecrets, Notification, Notifier, NotifyError
from shipway.monitor.notify.payload import webhook_payload

USER_AGENT = "shipway-alerts"


def post_json(
    url: str, body: Any, headers: dict[str, str], timeout: float, secrets: ChannelSecrets
) -> None:
    """POST `body`; a 2xx answer is success. URL and headers may hold secret references.
    Like Alertmanager, 5xx and 429 are worth retrying, other 4xx are not."""
    target = secrets.reveal(url)
    sent_headers = {"User-Agent": USER_AGENT, **secrets.reveal_all(headers)}
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.post(target, json=body, headers=sent_headers)
    except httpx.HTTPError as exc:
        raise NotifyError(secrets.mask(f"{type(exc).__name__}: {exc}")) from None
    if response.is_success:
        return
    retryable = response.status_code >= 500 or response.status_code == 429
    detail = secrets.mask(response.text[:200].strip().replace("\n", " "))
    raise NotifyError(
        f"HTTP {response.status_code}" + (f": {detail}" if detail else ""), retryable=retryable
    )


class WebhookNotifier(Notifier):
    kind = "webhook"
    send_resolved_default = True

    def send(self, notification: Notification, timeout: float) -> None:
        assert self.channel.webhook is not None
        post_json(
            self.channel.webhook,
            webhook_payload(notification),
            dict(self.channel.headers),
            timeout,
            self.secrets,
        )
