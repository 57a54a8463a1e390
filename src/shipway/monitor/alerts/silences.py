"""Creating and ending silences from user input, with Alertmanager's checks: at least
one matcher, not every matcher matching the empty string (that would silence everything),
a positive duration and a comment."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import TypeAdapter, ValidationError

from shipway.errors import InputError
from shipway.manifest.fields import Duration
from shipway.monitor.alerts.model import Alert, Matcher, Silence
from shipway.store import Store

_DURATION: TypeAdapter[float] = TypeAdapter(Duration)


def parse_duration(text: str) -> float:
    try:
        seconds = float(_DURATION.validate_python(text))
    except ValidationError as exc:
        raise InputError(f"--duration: {exc.errors()[0]['msg']}") from None
    if seconds <= 0:
        raise InputError("--duration must be longer than 0s")
    return seconds


def create_silence(
    store: Store,
    project: str,
    environment: str,
    matchers: Iterable[str],
    *,
    duration: str,
    comment: str,
    author: str,
    now: datetime,
) -> Silence:
    parsed = [Matcher.parse(text) for text in matchers]
    if not parsed:
        raise InputError("give at least one matcher, e.g. alertname=HighErrorRate")
    if all(m.matches({}) for m in parsed):
        raise InputError("these matchers match every alert; name at least one label value")
    if not comment.strip():
        raise InputError("--comment is required: say why the alerts are silenced")
    seconds = parse_duration(duration)
    return store.alerts.add_silence(
        project,
        environment,
        parsed,
        starts_at=now,
        ends_at=now + timedelta(seconds=seconds),
        author=author,
        comment=comment.strip(),
        now=now,
    )


def silenced_by(alert: Alert, silences: Iterable[Silence], now: datetime) -> list[str]:
    """Ids of the silences that mute `alert` at `now`."""
    return [s.id for s in silences if s.mutes(alert.labels, now)]
