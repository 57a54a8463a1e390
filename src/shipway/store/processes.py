"""The `service_processes` table: what each agent's supervisor last saw of its service
processes (running, backoff, crash_loop), so `shipway status` can show it from any
machine that reads the store."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import sqlalchemy as sa

from shipway.store.engine import StoreEngine
from shipway.store.records import ServiceProcessRecord
from shipway.store.tables import service_processes


def _record(row: sa.Row[Any]) -> ServiceProcessRecord:
    return ServiceProcessRecord(**row._mapping)


class ServiceProcessRepository:
    """Upsert and list the published states of service processes."""

    def __init__(self, db: StoreEngine) -> None:
        self._db = db

    def publish(self, record: ServiceProcessRecord) -> None:
        insert = self._db.insert(service_processes).values(asdict(record))
        columns = {k: v for k, v in asdict(record).items() if k != "name"}
        statement = insert.on_conflict_do_update(
            index_elements=["name"], set_={k: getattr(insert.excluded, k) for k in columns}
        )
        with self._db.write("publish service process state") as conn:
            conn.execute(statement)

    def remove(self, name: str) -> None:
        with self._db.write("remove service process state") as conn:
            conn.execute(service_processes.delete().where(service_processes.c.name == name))

    def list(
        self,
        project: str | None = None,
        environment: str | None = None,
        executor_id: str | None = None,
    ) -> list[ServiceProcessRecord]:
        query = sa.select(service_processes)
        if project is not None:
            query = query.where(service_processes.c.project == project)
        if environment is not None:
            query = query.where(service_processes.c.environment == environment)
        if executor_id is not None:
            query = query.where(service_processes.c.executor_id == executor_id)
        with self._db.read("list service processes") as conn:
            return [_record(row) for row in conn.execute(query.order_by(service_processes.c.name))]
