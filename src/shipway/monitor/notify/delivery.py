"""Deliver one notification with retries: exponential backoff (tenacity) until it goes
through, fails for good (a non-retryable error) or the deadline would pass. Every attempt
is recorded in the store, with the error masked (no secret values)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from tenacity import (
    Retrying,
    retry_if_exception,
    stop_before_delay,
    wait_exponential,
)

from shipway.monitor.alerts.model import Attempt
from shipway.monitor.alerts.repository import AlertRepository
from shipway.monitor.notify.interface import Notification, Notifier, NotifyError
from shipway.store.records import utc_now

#: Shortest per-attempt timeout, so a nearly spent deadline still allows one try.
MIN_TIMEOUT_S = 0.5


@dataclass(frozen=True)
class DeliveryPolicy:
    """How long to keep trying, and how long to wait between tries."""

    deadline: float
    backoff: float = 1.0
    max_backoff: float = 30.0


@dataclass(frozen=True)
class DeliveryResult:
    ok: bool
    attempts: int
    error: str | None = None


def _retryable(error: BaseException) -> bool:
    return isinstance(error, NotifyError) and error.retryable


def deliver(
    notifier: Notifier,
    notification: Notification,
    repository: AlertRepository,
    policy: DeliveryPolicy,
) -> DeliveryResult:
    """Send `notification` through `notifier`, retrying; never raises NotifyError."""
    started = time.monotonic()
    count = 0

    def attempt() -> None:
        nonlocal count
        count += 1
        remaining = policy.deadline - (time.monotonic() - started)
        timeout = max(MIN_TIMEOUT_S, min(float(notifier.channel.timeout), remaining))
        at, began = utc_now(), time.monotonic()
        error: str | None = None
        try:
            notifier.send(notification, timeout)
        except NotifyError as exc:
            error = notifier.secrets.mask(str(exc))
            raise
        except Exception as exc:  # a notifier bug must not stop the other channels
            error = notifier.secrets.mask(f"{type(exc).__name__}: {exc}")
            raise NotifyError(error, retryable=False) from None
        finally:
            repository.record_attempt(
                Attempt(
                    project=notification.project,
                    environment=notification.environment,
                    channel=notifier.name,
                    kind=notifier.kind,
                    group_key=notification.group_key,
                    status=notification.status,
                    alerts=len(notification.alerts),
                    attempt=count,
                    outcome="failed" if error is not None else "sent",
                    error=error,
                    at=at,
                    duration_ms=(time.monotonic() - began) * 1000,
                )
            )

    retrying = Retrying(
        stop=stop_before_delay(policy.deadline),
        wait=wait_exponential(
            multiplier=policy.backoff, min=policy.backoff, max=policy.max_backoff
        ),
        retry=retry_if_exception(_retryable),
        reraise=True,
    )
    try:
        retrying(attempt)
    except NotifyError as exc:
        return DeliveryResult(False, count, notifier.secrets.mask(str(exc)))
    return DeliveryResult(True, count)
