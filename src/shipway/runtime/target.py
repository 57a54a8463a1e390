"""The `Target` seam: where a release's services run (DESIGN.md section 2).

A target activates a release, health-gated: start its services beside the ones serving
now, move traffic once they are healthy, drain and stop the old ones. If the new release
never gets healthy, it raises `StageError` and the old release keeps serving. `local`
runs services under this machine's agent; `ssh` (hosts over SSH) is not built yet.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from shipway.orchestrator.stages.interface import StageContext
from shipway.store.records import ReleaseRecord


class Target(ABC):
    @abstractmethod
    def activate(
        self, ctx: StageContext, release: ReleaseRecord, current: ReleaseRecord | None
    ) -> None:
        """Make `release` serve instead of `current`; StageError when it cannot."""

    @abstractmethod
    def deactivate(self, ctx: StageContext, release: ReleaseRecord) -> None:
        """Stop every process of `release` and close the public ports it served."""
