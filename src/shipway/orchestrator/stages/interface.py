"""The `Stage` plugin seam.

A stage reads the world, decides what to change, registers how to undo it, and only then
changes it. The engine owns ordering, retries, timeouts, events and compensation; a stage
owns one component's work.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from shipway.errors import ShipwayError

if TYPE_CHECKING:
    from shipway.manifest import LoadedManifest, ResolvedEnvironment
    from shipway.models import DeploymentContext


class StageCancelledError(ShipwayError):
    """The deployment was cancelled, or the stage ran past its timeout."""


@dataclass(frozen=True)
class StageOutcome:
    """What a stage reports when it returns normally."""

    status: Literal["succeeded", "skipped"] = "succeeded"
    message: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass
class StageContext:
    """What a running stage may see and do. Built by the engine for each attempt."""

    deployment: DeploymentContext
    loaded: LoadedManifest
    environment: ResolvedEnvironment
    home: Path
    kind: str
    attempt: int
    _emit: Callable[[str, str, dict[str, Any]], None]
    _register: Callable[[dict[str, Any]], None]
    _cancel: threading.Event

    @property
    def base_dir(self) -> Path:
        """The folder that holds the manifest; relative paths in it start here."""
        return self.loaded.path.parent

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "artifacts" / self.deployment.deployment_id

    def emit(self, event_type: str, message: str = "", **data: Any) -> None:
        """Append an event to the deployment's log."""
        self._emit(event_type, message, data)

    def register_compensation(self, **data: Any) -> None:
        """Record, durably and before acting, what `compensate` needs to undo the action."""
        self._register(data)

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        """Raise when the deployment was cancelled or the stage timed out."""
        if self._cancel.is_set():
            raise StageCancelledError("stage interrupted: deployment cancelled or timed out")

    def sleep(self, seconds: float) -> None:
        """Sleep that wakes up, and raises, as soon as the stage is cancelled."""
        if self._cancel.wait(seconds):
            self.check_cancelled()


class Stage(ABC):
    """One step of the pipeline. Subclasses set `name` and implement `run`."""

    name: ClassVar[str]
    #: The event this stage emits when it completes (DESIGN.md section 1).
    completed_event: ClassVar[str] = "STAGE_COMPLETED"
    #: The manifest section that configures this stage; None means always configured.
    section: ClassVar[str | None] = None

    def configured(self, environment: ResolvedEnvironment) -> bool:
        """False when the manifest does not configure this stage's component: skipped."""
        if self.section is None:
            return True
        return bool(environment.section(self.section))

    def describe(self, environment: ResolvedEnvironment) -> list[str]:
        """What a run would do, one line per action, for `shipway plan`."""
        return [f"run {self.name}"]

    @abstractmethod
    def run(self, ctx: StageContext) -> StageOutcome:
        """Do the stage's work. Raise `StageError` when its gate fails."""

    def compensate(self, ctx: StageContext, data: dict[str, Any]) -> None:  # noqa: B027
        """Undo one action recorded with `register_compensation`. Default: nothing."""
