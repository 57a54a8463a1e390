"""The `deployments` table: one row per deployment or rollback, and its lifecycle.

The repository records what happened; it does not decide which transitions are legal
(the orchestrator does). It only keeps the timestamps honest: `started_at` is set the
first time a deployment runs, `finished_at` whenever it reaches a terminal status.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from typing import Any

import sqlalchemy as sa

from shipway.errors import NotFoundError, StoreError
from shipway.store.engine import StoreEngine
from shipway.store.records import (
    DEPLOYMENT_KINDS,
    DEPLOYMENT_STATUSES,
    TERMINAL_STATUSES,
    DeploymentRecord,
    DeploymentStatus,
    check_choice,
    utc_now,
)
from shipway.store.tables import deployments

MIN_PREFIX_LENGTH = 6
_FIELDS = tuple(f.name for f in fields(DeploymentRecord))


def _record(row: sa.Row[Any]) -> DeploymentRecord:
    return DeploymentRecord(**row._mapping)


class DeploymentRepository:
    """Create, find and update deployments."""

    def __init__(self, db: StoreEngine) -> None:
        self._db = db

    def create(self, record: DeploymentRecord) -> DeploymentRecord:
        """Insert a new deployment; its id must be unused."""
        check_choice(record.kind, DEPLOYMENT_KINDS, "deployment kind")
        check_choice(record.status, DEPLOYMENT_STATUSES, "deployment status")
        values = {name: getattr(record, name) for name in _FIELDS}
        insert = self._db.insert(deployments).values(values)
        statement = insert.on_conflict_do_nothing(index_elements=["id"]).returning(*deployments.c)
        with self._db.write("create deployment") as conn:
            row = conn.execute(statement).first()
        if row is None:
            raise StoreError(f"deployment {record.id} already exists")
        return _record(row)

    def get(self, deployment_id: str) -> DeploymentRecord:
        """The deployment with this id, or with this unique id prefix (>= 6 characters)."""
        with self._db.read("read deployment") as conn:
            row = conn.execute(
                sa.select(deployments).where(deployments.c.id == deployment_id)
            ).first()
            if row is None and len(deployment_id) >= MIN_PREFIX_LENGTH:
                matches = conn.execute(
                    sa.select(deployments)
                    .where(deployments.c.id.startswith(deployment_id, autoescape=True))
                    .order_by(deployments.c.id)
                    .limit(5)
                ).all()
                if len(matches) > 1:
                    ids = ", ".join(m.id for m in matches)
                    raise NotFoundError(
                        f"deployment id prefix {deployment_id!r} is ambiguous: matches {ids}"
                    )
                row = matches[0] if matches else None
        if row is None:
            raise NotFoundError(f"no deployment {deployment_id!r}")
        return _record(row)

    def list(
        self,
        project: str | None = None,
        environment: str | None = None,
        statuses: Iterable[str] | None = None,
        limit: int = 50,
    ) -> list[DeploymentRecord]:
        """Deployments matching every given filter, newest first."""
        query = sa.select(deployments)
        if project is not None:
            query = query.where(deployments.c.project == project)
        if environment is not None:
            query = query.where(deployments.c.environment == environment)
        if statuses is not None:
            query = query.where(deployments.c.status.in_(list(statuses)))
        query = query.order_by(deployments.c.created_at.desc(), deployments.c.id.desc())
        with self._db.read("list deployments") as conn:
            return [_record(row) for row in conn.execute(query.limit(limit))]

    def latest(
        self,
        project: str,
        environment: str,
        statuses: Iterable[str] = ("succeeded",),
        before_id: str | None = None,
    ) -> DeploymentRecord | None:
        """The newest deployment of an environment in one of `statuses`, optionally the
        newest created before deployment `before_id` (e.g. the release to roll back to)."""
        query = sa.select(deployments).where(
            deployments.c.project == project,
            deployments.c.environment == environment,
            deployments.c.status.in_(list(statuses)),
        )
        if before_id is not None:
            before = self.get(before_id)
            query = query.where(
                deployments.c.created_at < before.created_at, deployments.c.id != before.id
            )
        query = query.order_by(deployments.c.created_at.desc(), deployments.c.id.desc())
        with self._db.read("read latest deployment") as conn:
            row = conn.execute(query.limit(1)).first()
        return None if row is None else _record(row)

    def set_status(
        self, deployment_id: str, status: DeploymentStatus, *, error: str | None = None
    ) -> DeploymentRecord:
        """Move a deployment to `status` (and record `error` when one is given)."""
        check_choice(status, DEPLOYMENT_STATUSES, "deployment status")
        now = utc_now()
        values: dict[str, Any] = {"status": status}
        if status == "running":
            values["started_at"] = sa.func.coalesce(deployments.c.started_at, now)
        values["finished_at"] = now if status in TERMINAL_STATUSES else None
        if error is not None:
            values["error"] = error
        return self._update(deployment_id, values, "set deployment status")

    def set_context(self, deployment_id: str, context: dict[str, Any]) -> DeploymentRecord:
        """Replace the deployment's context (the serialised `DeploymentContext`)."""
        return self._update(deployment_id, {"context": context}, "set deployment context")

    def request_cancel(self, deployment_id: str) -> DeploymentRecord:
        """Ask the executor running the deployment to stop at the next stage boundary."""
        return self._update(deployment_id, {"cancel_requested": True}, "request cancel")

    def approve(self, deployment_id: str, user: str) -> DeploymentRecord:
        """Record who approved a deployment waiting for approval, and when."""
        values = {"approved_by": user, "approved_at": utc_now()}
        return self._update(deployment_id, values, "approve deployment")

    def set_executor(self, deployment_id: str, executor_id: str) -> DeploymentRecord:
        """Record which executor (agent or worker) runs the deployment."""
        return self._update(deployment_id, {"executor_id": executor_id}, "set executor")

    def _update(self, deployment_id: str, values: dict[str, Any], action: str) -> DeploymentRecord:
        with self._db.write(action) as conn:
            row = conn.execute(
                deployments.update()
                .where(deployments.c.id == deployment_id)
                .values(values)
                .returning(*deployments.c)
            ).first()
        if row is None:
            raise NotFoundError(f"no deployment {deployment_id!r}")
        return _record(row)
