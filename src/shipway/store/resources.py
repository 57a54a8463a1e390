"""The `resources` table: each environment's provisioned resources as last applied.

One row per (project, environment, name), written the moment a provider call completes
(its own transaction), so an interrupted apply leaves exactly what was done. `serial`
grows with every write of a row; a saved plan remembers the serials it was made from.
Attributes and outputs hold `${secret:...}` references, never secret values.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from shipway.errors import NotFoundError
from shipway.models import ResourceDescriptor
from shipway.store.engine import StoreEngine
from shipway.store.records import utc_now
from shipway.store.tables import resources


@dataclass(frozen=True)
class ResourceRecord:
    """One resource as shipway last applied it."""

    project: str
    environment: str
    name: str
    type: str
    resource_id: str
    #: The attributes applied, `${resources...}` resolved, secrets as references.
    attributes: dict[str, Any] = field(default_factory=dict)
    #: What `${resources.NAME.ATTR}` gives; credentials as `${secret:...}` references.
    outputs: dict[str, Any] = field(default_factory=dict)
    dependencies: list[str] = field(default_factory=list)
    prevent_destroy: bool = False
    #: A deployment id, or "cli".
    created_by: str = "cli"
    updated_by: str = "cli"
    created_at: datetime = field(default_factory=utc_now)
    updated_at: datetime = field(default_factory=utc_now)
    serial: int = 0

    def descriptor(self) -> ResourceDescriptor:
        """The shared model (DESIGN.md section 2) of this resource."""
        return ResourceDescriptor(
            resource_type=self.type,
            resource_id=self.resource_id,
            configuration=dict(self.attributes),
            metadata=dict(self.outputs),
            health_status="applied",
            allocated_to=self.environment,
        )


def _record(row: sa.Row[Any]) -> ResourceRecord:
    return ResourceRecord(**row._mapping)


class ResourceRepository:
    """Read and write the recorded state of an environment's resources."""

    def __init__(self, db: StoreEngine) -> None:
        self._db = db

    def list(self, project: str, environment: str) -> list[ResourceRecord]:
        """The environment's recorded resources, by name."""
        query = (
            sa.select(resources)
            .where(resources.c.project == project, resources.c.environment == environment)
            .order_by(resources.c.name)
        )
        with self._db.read("list resources") as conn:
            return [_record(row) for row in conn.execute(query)]

    def find(self, project: str, environment: str, name: str) -> ResourceRecord | None:
        query = sa.select(resources).where(
            resources.c.project == project,
            resources.c.environment == environment,
            resources.c.name == name,
        )
        with self._db.read("read resource") as conn:
            row = conn.execute(query).first()
        return None if row is None else _record(row)

    def get(self, project: str, environment: str, name: str) -> ResourceRecord:
        found = self.find(project, environment, name)
        if found is None:
            raise NotFoundError(f"{project}/{environment} has no recorded resource {name!r}")
        return found

    def put(
        self,
        *,
        project: str,
        environment: str,
        name: str,
        type: str,
        resource_id: str,
        attributes: dict[str, Any],
        outputs: dict[str, Any],
        dependencies: Sequence[str],
        prevent_destroy: bool,
        by: str,
    ) -> ResourceRecord:
        """Record `name` as just applied: created, or updated with `serial` + 1."""
        now = utc_now()
        key = (
            resources.c.project == project,
            resources.c.environment == environment,
            resources.c.name == name,
        )
        values: dict[str, Any] = {
            "type": type,
            "resource_id": resource_id,
            "attributes": attributes,
            "outputs": outputs,
            "dependencies": list(dependencies),
            "prevent_destroy": prevent_destroy,
            "updated_by": by,
            "updated_at": now,
        }
        with self._db.write("record resource") as conn:
            row = conn.execute(sa.select(resources).where(*key)).first()
            if row is None:
                values.update(
                    project=project,
                    environment=environment,
                    name=name,
                    created_by=by,
                    created_at=now,
                    serial=1,
                )
                written = conn.execute(resources.insert().values(values).returning(*resources.c))
            else:
                values["serial"] = int(row.serial) + 1
                written = conn.execute(
                    resources.update().where(*key).values(values).returning(*resources.c)
                )
            return _record(written.one())

    def remove(self, project: str, environment: str, name: str) -> bool:
        """Forget `name` (after it was destroyed); True when there was a record."""
        with self._db.write("remove resource") as conn:
            result = conn.execute(
                resources.delete().where(
                    resources.c.project == project,
                    resources.c.environment == environment,
                    resources.c.name == name,
                )
            )
        return bool(result.rowcount)

    def outputs(self, project: str, environment: str) -> dict[str, dict[str, Any]]:
        """Name -> outputs of every recorded resource: what `${resources...}` resolves to."""
        return {r.name: dict(r.outputs) for r in self.list(project, environment)}

    def descriptors(self, project: str, environment: str) -> builtins.list[ResourceDescriptor]:
        """The environment's recorded resources as the shared `ResourceDescriptor` model."""
        return [record.descriptor() for record in self.list(project, environment)]
