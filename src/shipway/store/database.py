"""`Store`: one open state database and the repositories that hang off it.

Opening a store connects, then migrates the schema to head (safe when several processes
open the same fresh store at once, see `schema.py`).
"""

from __future__ import annotations

from types import TracebackType

from shipway.monitor.alerts.repository import AlertRepository
from shipway.monitor.metrics.storage import MetricRepository
from shipway.store import schema
from shipway.store.analyses import AnalysisRepository
from shipway.store.compensations import CompensationRepository
from shipway.store.config_versions import ConfigVersionRepository
from shipway.store.deployments import DeploymentRepository
from shipway.store.engine import StoreEngine
from shipway.store.environments import EnvironmentBlockRepository
from shipway.store.events import EventLog
from shipway.store.executors import ExecutorRepository
from shipway.store.leases import LeaseRepository
from shipway.store.processes import ServiceProcessRepository
from shipway.store.releases import ReleaseRepository
from shipway.store.resources import ResourceRepository
from shipway.store.stage_runs import StageRunRepository


class Store:
    """The state store: deployments, events, stage runs, compensations, leases, blocks,
    executors, releases, service process states and configuration versions."""

    def __init__(self, db: StoreEngine) -> None:
        self.db = db
        self.deployments = DeploymentRepository(db)
        self.events = EventLog(db)
        self.stage_runs = StageRunRepository(db)
        self.compensations = CompensationRepository(db)
        self.leases = LeaseRepository(db)
        self.environments = EnvironmentBlockRepository(db)
        self.executors = ExecutorRepository(db)
        self.releases = ReleaseRepository(db)
        self.processes = ServiceProcessRepository(db)
        self.config = ConfigVersionRepository(db)
        self.analyses = AnalysisRepository(db)
        self.metrics = MetricRepository(db)
        self.alerts = AlertRepository(db)
        self.resources = ResourceRepository(db)

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> Store:
        """Connect to `url` (sqlite:///path or postgresql://...) and migrate it to head."""
        db = StoreEngine(url)
        try:
            if migrate:
                schema.upgrade(db)
        except BaseException:
            db.dispose()
            raise
        return cls(db)

    @property
    def dialect(self) -> str:
        """ "sqlite" or "postgresql"."""
        return self.db.dialect

    @property
    def url(self) -> str:
        """The URL the store was opened with, password masked."""
        return self.db.masked_url

    def close(self) -> None:
        """Close every connection to the database."""
        self.db.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"


def open_store(url: str, *, migrate: bool = True) -> Store:
    """Open the state store at `url`; see `Store.open`."""
    return Store.open(url, migrate=migrate)
