"""The `environment_blocks` table: environments that refuse a manifest digest.

After a deployment is rolled back, its environment is blocked from redeploying the same
manifest digest until someone clears the block or forces the deployment.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from shipway.store.engine import StoreEngine
from shipway.store.records import BlockRecord, utc_now
from shipway.store.tables import environment_blocks


def _record(row: sa.Row[Any]) -> BlockRecord:
    return BlockRecord(**row._mapping)


class EnvironmentBlockRepository:
    """Block, inspect and clear environments, keyed "project/environment"."""

    def __init__(self, db: StoreEngine) -> None:
        self._db = db

    def block(self, key: str, digest: str, deployment_id: str | None, reason: str) -> BlockRecord:
        """Block `key` from deploying `digest`, replacing any earlier block."""
        insert = self._db.insert(environment_blocks).values(
            key=key, digest=digest, deployment_id=deployment_id, reason=reason, created_at=utc_now()
        )
        statement = insert.on_conflict_do_update(
            index_elements=["key"],
            set_={
                "digest": insert.excluded.digest,
                "deployment_id": insert.excluded.deployment_id,
                "reason": insert.excluded.reason,
                "created_at": insert.excluded.created_at,
            },
        ).returning(*environment_blocks.c)
        with self._db.write("block environment") as conn:
            return _record(conn.execute(statement).one())

    def blocked(self, key: str) -> BlockRecord | None:
        """The block on `key`, if there is one."""
        query = sa.select(environment_blocks).where(environment_blocks.c.key == key)
        with self._db.read("read environment block") as conn:
            row = conn.execute(query).first()
        return None if row is None else _record(row)

    def clear(self, key: str) -> bool:
        """Lift the block on `key`; False when there was none."""
        statement = environment_blocks.delete().where(environment_blocks.c.key == key)
        with self._db.write("clear environment block") as conn:
            return conn.execute(statement).rowcount > 0
