"""Fixtures of the notifier tests: a fresh SQLite store, alerts, a secret backend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shipway.config.secrets import SecretBackend, open_backend
from shipway.monitor.alerts.model import Alert
from shipway.store import Store

CANARY = "canary-5ecret-value-31337"
T0 = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'state.db'}") as opened:
        yield opened


@pytest.fixture
def secrets(tmp_path: Path) -> SecretBackend:
    """The real `env` backend over a given environment: `${secret:hook_token}` and
    `${secret:smtp_password}` hold the canary."""
    return open_backend(
        "env",
        project="notes",
        environment="dev",
        base_dir=tmp_path,
        home=tmp_path,
        env={"HOOK_TOKEN": CANARY, "SMTP_PASSWORD": CANARY},
    )


def make_alert(
    state: str = "firing", instance: str = "a", summary: str = "errors are high"
) -> Alert:
    return Alert(
        project="notes",
        environment="dev",
        rule="HighErrorRate",
        labels={"alertname": "HighErrorRate", "severity": "critical", "instance": instance},
        annotations={"summary": summary},
        state=state,  # type: ignore[arg-type]
        value=2.5,
        active_at=T0,
        evaluated_at=T0,
        fired_at=T0,
        resolved_at=T0.replace(minute=5) if state == "resolved" else None,
    )
