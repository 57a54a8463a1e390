"""The `releases` table: every release of an environment's services, newest last.

A release is immutable in what it runs (artifact, manifest digest, config version,
service specs); only its status moves: staged -> active -> standby -> ... -> pruned, or
staged -> failed. At most one release of an environment is active; `activate` swaps the
active one to standby in the same transaction that activates the next.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

import sqlalchemy as sa

from shipway.errors import NotFoundError
from shipway.store.engine import StoreEngine
from shipway.store.records import (
    RELEASE_STATUSES,
    ReleaseRecord,
    ReleaseStatus,
    check_choice,
    utc_now,
)
from shipway.store.tables import releases


def _record(row: sa.Row[Any]) -> ReleaseRecord:
    return ReleaseRecord(**row._mapping)


def release_id(project: str, environment: str, number: int) -> str:
    return f"{project}-{environment}-r{number}"


class ReleaseRepository:
    """Create, activate and list releases, keyed by project and environment."""

    def __init__(self, db: StoreEngine) -> None:
        self._db = db

    def create(
        self,
        *,
        project: str,
        environment: str,
        deployment_id: str,
        manifest_digest: str,
        artifact_digest: str,
        services: dict[str, Any],
        executor_id: str,
        config_version: str | None = None,
    ) -> ReleaseRecord:
        """A new staged release with the environment's next release number."""
        with self._db.write("create release") as conn:
            if self._db.dialect == "postgresql":
                # NOTE: serialises numbering per environment; SQLite's BEGIN IMMEDIATE
                # already serialises every writer.
                conn.execute(
                    sa.select(sa.func.pg_advisory_xact_lock(_lock_id(project, environment)))
                )
            number = conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(releases.c.number), 0)).where(
                    releases.c.project == project, releases.c.environment == environment
                )
            ).scalar_one()
            record = ReleaseRecord(
                id=release_id(project, environment, int(number) + 1),
                project=project,
                environment=environment,
                number=int(number) + 1,
                deployment_id=deployment_id,
                manifest_digest=manifest_digest,
                artifact_digest=artifact_digest,
                services=services,
                executor_id=executor_id,
                config_version=config_version,
            )
            conn.execute(releases.insert().values(asdict(record)))
        return record

    def get(self, release_id: str) -> ReleaseRecord:
        with self._db.read("read release") as conn:
            row = conn.execute(sa.select(releases).where(releases.c.id == release_id)).first()
        if row is None:
            raise NotFoundError(f"no release {release_id!r}")
        return _record(row)

    def list(
        self,
        project: str | None = None,
        environment: str | None = None,
        statuses: Iterable[str] | None = None,
        executor_id: str | None = None,
    ) -> list[ReleaseRecord]:
        """Releases matching every given filter, newest first."""
        query = sa.select(releases)
        if project is not None:
            query = query.where(releases.c.project == project)
        if environment is not None:
            query = query.where(releases.c.environment == environment)
        if statuses is not None:
            query = query.where(releases.c.status.in_(list(statuses)))
        if executor_id is not None:
            query = query.where(releases.c.executor_id == executor_id)
        query = query.order_by(releases.c.project, releases.c.environment, releases.c.number.desc())
        with self._db.read("list releases") as conn:
            return [_record(row) for row in conn.execute(query)]

    def active(self, project: str, environment: str) -> ReleaseRecord | None:
        found = self.list(project, environment, statuses=["active"])
        return found[0] if found else None

    def previous(self, project: str, environment: str) -> ReleaseRecord | None:
        """The kept release that was active most recently before the active one."""
        kept = [
            r
            for r in self.list(project, environment, statuses=["standby"])
            if r.activated_at is not None
        ]
        return max(kept, key=lambda r: r.activated_at or utc_now(), default=None)

    def activate(self, release_id: str) -> ReleaseRecord:
        """Make `release_id` the active release; the one active before becomes standby."""
        now = utc_now()
        with self._db.write("activate release") as conn:
            row = conn.execute(sa.select(releases).where(releases.c.id == release_id)).first()
            if row is None:
                raise NotFoundError(f"no release {release_id!r}")
            conn.execute(
                releases.update()
                .where(
                    releases.c.project == row.project,
                    releases.c.environment == row.environment,
                    releases.c.status == "active",
                    releases.c.id != release_id,
                )
                .values(status="standby")
            )
            updated = conn.execute(
                releases.update()
                .where(releases.c.id == release_id)
                .values(status="active", activated_at=now, error=None)
                .returning(*releases.c)
            ).one()
        return _record(updated)

    def set_status(
        self, release_id: str, status: ReleaseStatus, *, error: str | None = None
    ) -> ReleaseRecord:
        check_choice(status, RELEASE_STATUSES, "release status")
        values: dict[str, Any] = {"status": status}
        if error is not None:
            values["error"] = error
        with self._db.write("set release status") as conn:
            row = conn.execute(
                releases.update()
                .where(releases.c.id == release_id)
                .values(values)
                .returning(*releases.c)
            ).first()
        if row is None:
            raise NotFoundError(f"no release {release_id!r}")
        return _record(row)


def _lock_id(project: str, environment: str) -> int:
    digest = hashlib.sha256(f"releases:{project}/{environment}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
