"""The alerting tables of the state store: alert instances, silences, notification
groups and notification attempts (`store.alerts`).

Kept free of imports from the rest of `monitor/` so `shipway.store` can attach it without
an import cycle.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import asdict, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from shipway.errors import NotFoundError
from shipway.monitor.alerts.model import Alert, Attempt, GroupState, Matcher, Silence
from shipway.store.engine import StoreEngine
from shipway.store.tables import (
    alert_groups,
    alert_instances,
    alert_silences,
    notification_attempts,
)


def _alert(row: sa.Row[Any]) -> Alert:
    return Alert(**row._mapping)


def _silence(row: sa.Row[Any]) -> Silence:
    data = dict(row._mapping)
    data["matchers"] = tuple(Matcher.from_dict(m) for m in data["matchers"])
    return Silence(**data)


def _group(row: sa.Row[Any]) -> GroupState:
    data = dict(row._mapping)
    data["firing"] = frozenset(data["firing"])
    data["resolved"] = frozenset(data["resolved"])
    return GroupState(**data)


class AlertRepository:
    """Read and write alert instances, silences, groups and attempts."""

    def __init__(self, db: StoreEngine) -> None:
        self._db = db

    # --- instances ----------------------------------------------------------------------

    def instances(
        self,
        project: str,
        environment: str,
        *,
        rule: str | None = None,
        states: Iterable[str] | None = None,
    ) -> list[Alert]:
        """Stored (not inactive) instances, by rule then fingerprint."""
        c = alert_instances.c
        query = sa.select(alert_instances).where(c.project == project, c.environment == environment)
        if rule is not None:
            query = query.where(c.rule == rule)
        if states is not None:
            query = query.where(c.state.in_(list(states)))
        with self._db.read("read alerts") as conn:
            rows = conn.execute(query.order_by(c.rule, c.fingerprint))
            return [_alert(row) for row in rows]

    def rules(self, project: str, environment: str) -> set[str]:
        """Names of the rules that have stored instances."""
        c = alert_instances.c
        query = (
            sa.select(c.rule).where(c.project == project, c.environment == environment).distinct()
        )
        with self._db.read("read alert rules") as conn:
            return set(conn.execute(query).scalars())

    def replace_rule(
        self, project: str, environment: str, rule: str, alerts: Iterable[Alert]
    ) -> None:
        """Make `alerts` the rule's only stored instances (one transaction)."""
        c = alert_instances.c
        rows = [asdict(a) for a in alerts]
        with self._db.write("write alerts") as conn:
            conn.execute(
                alert_instances.delete().where(
                    c.project == project, c.environment == environment, c.rule == rule
                )
            )
            if rows:
                conn.execute(alert_instances.insert(), rows)

    # --- silences -----------------------------------------------------------------------

    def add_silence(
        self,
        project: str,
        environment: str,
        matchers: Iterable[Matcher],
        *,
        starts_at: datetime,
        ends_at: datetime,
        author: str,
        comment: str,
        now: datetime,
    ) -> Silence:
        silence = Silence(
            id=str(uuid.uuid4()),
            project=project,
            environment=environment,
            matchers=tuple(matchers),
            starts_at=starts_at,
            ends_at=ends_at,
            author=author,
            comment=comment,
            created_at=now,
        )
        row = asdict(silence)
        row["matchers"] = [m.to_dict() for m in silence.matchers]
        with self._db.write("add silence") as conn:
            conn.execute(alert_silences.insert().values(row))
        return silence

    def silence(self, silence_id: str) -> Silence:
        with self._db.read("read silence") as conn:
            row = conn.execute(
                sa.select(alert_silences).where(alert_silences.c.id == silence_id)
            ).first()
        if row is None:
            raise NotFoundError(f"no silence {silence_id!r}")
        return _silence(row)

    def expire_silence(self, silence_id: str, now: datetime) -> Silence:
        """End the silence now (Alertmanager "expires" silences; they stay listed)."""
        found = self.silence(silence_id)
        ends_at = min(found.ends_at, now)
        starts_at = min(found.starts_at, ends_at)
        with self._db.write("expire silence") as conn:
            conn.execute(
                alert_silences.update()
                .where(alert_silences.c.id == silence_id)
                .values(ends_at=ends_at, starts_at=starts_at)
            )
        return replace(found, ends_at=ends_at, starts_at=starts_at)

    def silences(
        self, project: str, environment: str, *, active_at: datetime | None = None
    ) -> list[Silence]:
        """The environment's silences (only those active at `active_at` when given)."""
        c = alert_silences.c
        query = sa.select(alert_silences).where(c.project == project, c.environment == environment)
        if active_at is not None:
            query = query.where(c.starts_at <= active_at, c.ends_at > active_at)
        with self._db.read("read silences") as conn:
            return [_silence(row) for row in conn.execute(query.order_by(c.created_at))]

    # --- groups -------------------------------------------------------------------------

    def groups(self, project: str, environment: str) -> list[GroupState]:
        c = alert_groups.c
        query = sa.select(alert_groups).where(c.project == project, c.environment == environment)
        with self._db.read("read alert groups") as conn:
            return [_group(row) for row in conn.execute(query.order_by(c.id))]

    def save_group(self, group: GroupState) -> None:
        row = asdict(group)
        row["firing"] = sorted(group.firing)
        row["resolved"] = sorted(group.resolved)
        insert = self._db.insert(alert_groups).values(row)
        update = {k: v for k, v in row.items() if k != "id"}
        with self._db.write("save alert group") as conn:
            conn.execute(insert.on_conflict_do_update(index_elements=["id"], set_=update))

    # --- attempts -----------------------------------------------------------------------

    def record_attempt(self, attempt: Attempt) -> int:
        row = asdict(attempt)
        row.pop("id")
        with self._db.write("record notification attempt") as conn:
            inserted = conn.execute(
                notification_attempts.insert().values(row).returning(notification_attempts.c.id)
            ).scalar_one()
        return int(inserted)

    def attempts(
        self, project: str, environment: str, *, channel: str | None = None, limit: int = 100
    ) -> list[Attempt]:
        """The newest attempts first."""
        c = notification_attempts.c
        query = sa.select(notification_attempts).where(
            c.project == project, c.environment == environment
        )
        if channel is not None:
            query = query.where(c.channel == channel)
        with self._db.read("read notification attempts") as conn:
            rows = conn.execute(query.order_by(c.id.desc()).limit(limit))
            return [Attempt(**row._mapping) for row in rows]
