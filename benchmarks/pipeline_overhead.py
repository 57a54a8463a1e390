"""Pipeline overhead: 10 sequential stages that each sleep 0.5 s.

The ideal is 5.0 s; everything above it is the orchestrator's own cost (queueing, durable
checkpoints, events, leases). Measured from the moment the deployment is submitted until
its final event is read back, with the agent already running (warm), on the embedded
SQLite state; the median of five runs is reported. Target: <= 5.25 s.

    python benchmarks/pipeline_overhead.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from shipway.manifest import load_manifest
from shipway.orchestrator.client import DeploymentClient
from shipway.runtime.agent import ensure_agent, stop_agent
from shipway.workspace import Workspace

STAGES = 10
SLEEP = 0.5
RUNS = 5
TARGET = 5.25

PLUGIN = """
import time
from shipway.orchestrator.stages import Stage, StageOutcome, registry

class SleepStage(Stage):
    name = "sleep"
    def run(self, ctx):
        time.sleep(0.5)
        return StageOutcome()

for i in range(1, 11):
    registry.register(type(f"Sleep{i}", (SleepStage,), {"name": f"s{i}"}))
"""


def manifest_text() -> str:
    order = ", ".join(f"s{i}" for i in range(1, STAGES + 1))
    return textwrap.dedent(f"""\
        version: 1
        project: bench
        environments:
          dev:
            target: local
        pipeline:
          plugins: [stages.py]
          order: [{order}]
        """)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "stages.py").write_text(PLUGIN)
        path = root / "shipway.yaml"
        path.write_text(manifest_text())
        ws = Workspace.for_manifest(path)
        started = time.monotonic()
        ensure_agent(ws)
        print(f"agent start (cold): {time.monotonic() - started:.2f} s")
        loaded = load_manifest(path)
        timings = []
        try:
            with DeploymentClient(ws) as client:
                warm_up = client.submit(loaded, "dev")  # first dequeue after start; not counted
                for _ in client.follow(warm_up.id, poll=0.02):
                    pass
                for run in range(RUNS):
                    begin = time.monotonic()
                    record = client.submit(loaded, "dev")
                    for _ in client.follow(record.id, poll=0.02):
                        pass
                    took = time.monotonic() - begin
                    status = client.store.deployments.get(record.id).status
                    if status != "succeeded":
                        sys.exit(f"run {run + 1}: deployment {record.id} ended {status}")
                    timings.append(took)
                    print(f"run {run + 1}: {took:.3f} s wall for {STAGES} x {SLEEP} s stages")
        finally:
            stop_agent(ws)
    ideal = STAGES * SLEEP
    median = statistics.median(timings)
    verdict = "met" if median <= TARGET else "MISSED"
    print(
        f"median {median:.3f} s, best {min(timings):.3f} s, ideal {ideal:.1f} s, "
        f"overhead per stage {(median - ideal) / STAGES * 1000:.1f} ms"
    )
    print(f"target <= {TARGET} s: {verdict}")
    print(
        f"RESULT pipeline_overhead {median:.3f} s (ref {ideal:.3f} s, ratio {median / ideal:.3f})"
    )
    if median > TARGET:
        sys.exit(1)


if __name__ == "__main__":
    main()
