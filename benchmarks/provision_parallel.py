"""Apply parallelism: 500 independent resources of a test provider whose every call sleeps
50 ms. The time measured is the execution of an already computed plan (`apply` of the
plan `plan` returned), with each resource recorded in a SQLite state store as it
completes, at the default parallelism (16) and at 10 (Terraform's default) for reference.

The reference is the ideal: 500 x 0.05 s / 16 = 1.56 s. Target: within 15% of it.

    python benchmarks/provision_parallel.py
"""

from __future__ import annotations

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

COUNT = 500
CALL = 0.05
TARGET = 1.15


class SleepSettings(ProviderSettings):
    size: int = 1


class SleepProvider(Provider):
    """Every call takes 50 ms, like a cloud API answering quickly."""

    type = "bench.sleep"
    Settings = SleepSettings

    def read(
        self, ctx: ProviderContext, settings: ProviderSettings, resource_id: str
    ) -> Observed | None:
        return None

    def create(self, ctx: ProviderContext, settings: ProviderSettings) -> Observed:
        time.sleep(CALL)
        return Observed(ctx.name, {"size": 1}, {"id": ctx.name})

    def delete(self, ctx: ProviderContext, settings: ProviderSettings, current: Observed) -> None:
        time.sleep(CALL)


def apply_time(root: Path, parallelism: int) -> float:
    manifest = root / "shipway.yaml"
    body = "".join(f"  r{i}:\n    type: bench.sleep\n" for i in range(COUNT))
    manifest.write_text("version: 1\nproject: bench\nenvironments:\n  dev: {}\nresources:\n" + body)
    loaded = load_manifest(manifest)
    with Store.open(f"sqlite:///{root / f'state-{parallelism}.db'}") as store:
        engine = Provisioner.open(
            loaded, resolve_environment(loaded, "dev"), store, root, parallelism=parallelism
        )
        plan = engine.plan()
        started = time.perf_counter()
        result = engine.apply(plan)
        elapsed = time.perf_counter() - started
        assert result.ok and len(result.done) == COUNT, result.failed
    return elapsed


def main() -> int:
    providers.register(SleepProvider)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        at_10 = apply_time(root, 10)
        at_16 = apply_time(root, 16)
    ideal = COUNT * CALL / 16
    print(f"apply of a computed plan, {COUNT} resources x {CALL * 1000:.0f} ms per call")
    print(f"parallelism 10 (Terraform's default): {at_10:.3f} s (ideal {COUNT * CALL / 10:.3f} s)")
    print(f"parallelism 16 (default):             {at_16:.3f} s (ideal {ideal:.3f} s)")
    ratio = at_16 / ideal
    print(f"target: within {TARGET - 1:.0%} of the ideal: {'met' if ratio <= TARGET else 'MISSED'}")
    print(f"RESULT provision_parallel {at_16:.3f} s (ref {ideal:.3f} s, ratio {ratio:.2f})")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
