"""The state store: deployments, the event log, stage checkpoints, compensations,
environment leases and blocks, on SQLite or PostgreSQL (SQLAlchemy Core + Alembic).

    store = open_store("sqlite:///.shipway/state.db")
    store.events.append(deployment_id, correlation_id, "STAGE_STARTED", stage="validate")
"""

from shipway.store.database import Store, open_store
from shipway.store.records import (
    TERMINAL_STATUSES,
    BlockRecord,
    CompensationRecord,
    CompensationStatus,
    DeploymentKind,
    DeploymentRecord,
    DeploymentStatus,
    EventRecord,
    ExecutorRecord,
    LeaseRecord,
    NewEvent,
    StageRunRecord,
    StageStatus,
)

__all__ = [
    "TERMINAL_STATUSES",
    "BlockRecord",
    "CompensationRecord",
    "CompensationStatus",
    "DeploymentKind",
    "DeploymentRecord",
    "DeploymentStatus",
    "EventRecord",
    "ExecutorRecord",
    "LeaseRecord",
    "NewEvent",
    "StageRunRecord",
    "StageStatus",
    "Store",
    "open_store",
]
