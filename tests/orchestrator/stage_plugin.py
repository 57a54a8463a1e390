"""Small real stage plugins for the orchestrator's tests.

Copied next to a test manifest and named in its `pipeline.plugins`. Every stage reads
`control.json` beside the manifest at run time (so a test can change behaviour between
runs) and writes what it did to files there:

- `started.log`: one line `STAGE ATTEMPT` when a run starts;
- `effects.log`: one line `STAGE` when a run completes its side effect;
- `undone.log`: one line `STAGE` per compensation.

control.json keys: `sleep` {stage: seconds}, `fail` [stages] (gate failure),
`crash` {stage: n} (raise a plain error on the first n attempts, counted in started.log),
`fail_compensation` [stages], `ignore_cancel` [stages].
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from shipway.errors import StageError
from shipway.orchestrator.stages import Stage, StageContext, StageOutcome, registry


def _control(ctx: StageContext) -> dict[str, Any]:
    path = ctx.base_dir / "control.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _append(path: Path, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


class RecordingStage(Stage):
    name = "recording"

    def run(self, ctx: StageContext) -> StageOutcome:
        control = _control(ctx)
        started = ctx.base_dir / "started.log"
        _append(started, f"{self.name} {ctx.attempt}")
        ctx.register_compensation(stage=self.name, note=f"undo {self.name}")
        deadline = time.monotonic() + float(control.get("sleep", {}).get(self.name, 0))
        while time.monotonic() < deadline:
            if self.name not in control.get("ignore_cancel", []):
                ctx.check_cancelled()
            time.sleep(0.02)
        crashes = int(control.get("crash", {}).get(self.name, 0))
        runs = sum(1 for line in _lines(started) if line.split()[0] == self.name)
        if runs <= crashes:
            raise RuntimeError(f"{self.name} crashed on purpose (run {runs})")
        if self.name in control.get("fail", []):
            raise StageError(f"{self.name} gate failed on purpose")
        _append(ctx.base_dir / "effects.log", self.name)
        ctx.emit("TEST_NOTE", f"{self.name} did its work")
        return StageOutcome(message=f"{self.name} done", outputs={"stage": self.name})

    def compensate(self, ctx: StageContext, data: dict[str, Any]) -> None:
        if self.name in _control(ctx).get("fail_compensation", []):
            raise RuntimeError(f"cannot undo {self.name}")
        _append(ctx.base_dir / "undone.log", data["stage"])


STAGE_NAMES = ["validate", "provision", "configure", "scan", "release", "test", "observe"]
STAGE_NAMES += [f"step{i}" for i in range(1, 11)]

for _name in STAGE_NAMES:
    registry.register(type(f"Recording_{_name}", (RecordingStage,), {"name": _name}))
