"""Planning a large environment: 10,000 resources with 20,000 dependency edges, whose
state is already recorded in a SQLite state store and matches the world, so the plan
reads every resource (a fast in-memory test provider), compares, and finds nothing to do.

The time measured is `Provisioner.plan()` (records, graph, settings, parallel reads,
comparison); loading the manifest is reported apart. Target: <= 2 s (the reference).

    python benchmarks/plan_large.py
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

from shipway.manifest import load_manifest, resolve_environment
from shipway.provisioner import providers
from shipway.provisioner.engine import Provisioner
from shipway.provisioner.providers.interface import (
    Observed,
    Provider,
    ProviderContext,
    ProviderSettings,
)
from shipway.store import Store
from shipway.store.records import utc_now
from shipway.store.tables import resources

COUNT = 10_000
EDGES_PER_RESOURCE = 2
TARGET = 2.0


class MemorySettings(ProviderSettings):
    size: int = 1


class MemoryProvider(Provider):
    """Every resource exists, as recorded; reads cost no I/O."""

    type = "bench.memory"
    Settings = MemorySettings

    def read(
        self, ctx: ProviderContext, settings: ProviderSettings, resource_id: str
    ) -> Observed | None:
        return Observed(resource_id, {"size": 1}, {"id": resource_id})

    def create(self, ctx: ProviderContext, settings: ProviderSettings) -> Observed:
        return Observed(ctx.name, {"size": 1}, {"id": ctx.name})

    def delete(self, ctx: ProviderContext, settings: ProviderSettings, current: Observed) -> None:
        pass


def write_project(root: Path) -> dict[str, list[str]]:
    rng = random.Random(7)
    dependencies: dict[str, list[str]] = {}
    lines = []
    for i in range(COUNT):
        name = f"r{i}"
        deps = sorted({f"r{rng.randrange(i)}" for _ in range(EDGES_PER_RESOURCE)}) if i else []
        while i >= EDGES_PER_RESOURCE and len(deps) < EDGES_PER_RESOURCE:
            deps = sorted({*deps, f"r{rng.randrange(i)}"})
        dependencies[name] = deps
        lines.append(f"  {name}:\n    type: bench.memory\n    size: 1\n")
        if deps:
            lines.append(f"    depends_on: [{', '.join(deps)}]\n")
    (root / "shipway.yaml").write_text(
        "version: 1\nproject: bench\nenvironments:\n  dev: {}\nresources:\n" + "".join(lines)
    )
    return dependencies


def record_state(store: Store, dependencies: dict[str, list[str]]) -> None:
    now = utc_now()
    rows = [
        {
            "project": "bench",
            "environment": "dev",
            "name": name,
            "type": "bench.memory",
            "resource_id": name,
            "attributes": {"size": 1},
            "outputs": {"id": name},
            "dependencies": deps,
            "prevent_destroy": False,
            "created_by": "cli",
            "updated_by": "cli",
            "created_at": now,
            "updated_at": now,
            "serial": 1,
        }
        for name, deps in dependencies.items()
    ]
    with store.db.write("seed resources") as conn:
        conn.execute(resources.insert(), rows)


def main() -> int:
    providers.register(MemoryProvider)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        dependencies = write_project(root)
        edges = sum(len(d) for d in dependencies.values())
        started = time.perf_counter()
        loaded = load_manifest(root / "shipway.yaml")
        environment = resolve_environment(loaded, "dev")
        loading = time.perf_counter() - started
        with Store.open(f"sqlite:///{root / 'state.db'}") as store:
            record_state(store, dependencies)
            engine = Provisioner.open(loaded, environment, store, root)
            started = time.perf_counter()
            plan = engine.plan()
            elapsed = time.perf_counter() - started
    assert plan.empty and plan.counts()["no-op"] == COUNT, plan.summary()
    print(f"{COUNT} resources, {edges} dependency edges, state recorded in SQLite")
    print(f"manifest load (not counted): {loading:.3f} s")
    print(f"plan: {elapsed:.3f} s ({plan.summary()})")
    print(f"target: <= {TARGET:.1f} s: {'met' if elapsed <= TARGET else 'MISSED'}")
    print(f"RESULT plan_large {elapsed:.3f} s (ref {TARGET:.3f} s, ratio {elapsed / TARGET:.2f})")
    return 0 if elapsed <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
