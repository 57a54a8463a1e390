"""Stage plugins: the interface every pipeline stage implements, and the registry."""

from shipway.orchestrator.stages.interface import (
    Stage,
    StageCancelledError,
    StageContext,
    StageOutcome,
)
from shipway.orchestrator.stages.registry import registry

__all__ = ["Stage", "StageCancelledError", "StageContext", "StageOutcome", "registry"]
