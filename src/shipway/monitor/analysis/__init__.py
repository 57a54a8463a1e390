"""Post-release analysis: the observe stage compares the new release's metrics with the
previous release's (Mann-Whitney U test, tolerances, a weighted score, as Kayenta does)
and rolls back a release that is worse. The stage lives in `stage.py`, registered in the
orchestrator's BUILTIN_MODULES."""

from shipway.monitor.analysis.judge import (
    AnalysisResult,
    MetricVerdict,
    judge_metric,
    score,
)
from shipway.monitor.analysis.mannwhitney import MannWhitneyResult, hodges_lehmann, mann_whitney_u

__all__ = [
    "AnalysisResult",
    "MannWhitneyResult",
    "MetricVerdict",
    "hodges_lehmann",
    "judge_metric",
    "mann_whitney_u",
    "score",
]
