"""The engine in-process: apply parallelism is bounded, and the store keeps records
(serials, removal, descriptors) on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import ClassVar

from shipway.provisioner import providers
from shipway.provisioner.providers.interface import (
    Observed,
    Provider,
    ProviderContext,
    ProviderSettings,
)
from shipway.store import open_store as open_state

from .project import open_store, provisioner, write_manifest


class GaugeSettings(ProviderSettings):
    size: int = 1


class GaugeProvider(Provider):
    """Counts how many of its calls run at once (a test provider, registered below)."""

    type = "test.gauge"
    Settings = GaugeSettings
    lock = threading.Lock()
    running = 0
    peak = 0
    made: ClassVar[set[str]] = set()

    def read(
        self, ctx: ProviderContext, settings: ProviderSettings, resource_id: str
    ) -> Observed | None:
        return Observed(resource_id, {"size": 1}) if resource_id in self.made else None

    def create(self, ctx: ProviderContext, settings: ProviderSettings) -> Observed:
        cls = type(self)
        with cls.lock:
            cls.running += 1
            cls.peak = max(cls.peak, cls.running)
        time.sleep(0.15)
        with cls.lock:
            cls.running -= 1
            cls.made.add(ctx.name)
        return Observed(ctx.name, {"size": 1}, {"name": ctx.name})

    def delete(self, ctx: ProviderContext, settings: ProviderSettings, current: Observed) -> None:
        self.made.discard(current.resource_id)


def test_apply_runs_at_most_parallelism_calls_at_once(tmp_path: Path) -> None:
    providers.register(GaugeProvider)
    write_manifest(tmp_path, "".join(f"  g{i}:\n    type: test.gauge\n" for i in range(12)))
    with open_store(tmp_path) as store:
        engine = provisioner(tmp_path, store, parallelism=3)
        plan = engine.plan()
        started = time.monotonic()
        result = engine.apply(plan)
        elapsed = time.monotonic() - started
        assert result.ok, result.failed
        assert GaugeProvider.peak == 3  # bounded, and actually parallel
        assert elapsed >= 4 * 0.15  # 12 calls, 3 at a time
        assert len(store.resources.list("demo", "dev")) == 12
        assert engine.plan().empty


def test_records_serials_and_descriptors(state_url: str) -> None:
    with open_state(state_url) as store:
        repo = store.resources
        first = repo.put(
            project="p",
            environment="dev",
            name="db",
            type="local.sqlite",
            resource_id="db.sqlite",
            attributes={"path": "db.sqlite"},
            outputs={"password": "${secret:resources/db/password}"},
            dependencies=["dir"],
            prevent_destroy=True,
            by="d-1",
        )
        assert first.serial == 1 and first.created_by == "d-1"
        second = repo.put(
            project="p",
            environment="dev",
            name="db",
            type="local.sqlite",
            resource_id="db.sqlite",
            attributes={"path": "db.sqlite"},
            outputs={},
            dependencies=[],
            prevent_destroy=False,
            by="cli",
        )
        assert (second.serial, second.created_by, second.updated_by) == (2, "d-1", "cli")
        assert repo.list("p", "prod") == []
        [descriptor] = repo.descriptors("p", "dev")
        assert descriptor.resource_type == "local.sqlite"
        assert descriptor.allocated_to == "dev" and descriptor.configuration == {
            "path": "db.sqlite"
        }
        assert repo.remove("p", "dev", "db") and not repo.remove("p", "dev", "db")
        assert repo.find("p", "dev", "db") is None
