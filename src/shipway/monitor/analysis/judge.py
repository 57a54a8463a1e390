"""Judging a release: a verdict per metric, then a weighted score, as Kayenta does.

A metric's samples from the new release are compared with the previous release's by the
Mann-Whitney U test. A change counts only when it is significant (p below 1 -
confidence) in a direction the metric watches AND larger than the tolerance the manifest
allows (`max_increase` / `max_decrease`, on the difference of the means). "No data" is a
verdict of its own, and `on_no_data` says how it counts: as a failure, as a pass (said
so), or not at all, which makes the whole analysis inconclusive. It never passes silently
(kayenta#377, argo-rollouts#4479 were bugs where it did).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from shipway.manifest.monitoring import AnalysisMetric, AnalysisSpec
from shipway.monitor.analysis.mannwhitney import Alternative, hodges_lehmann, mann_whitney_u

#: Fewer samples than this on either side is "no data": no test can judge two points.
MIN_SAMPLES = 3

MetricVerdictName = Literal["pass", "high", "low", "no_data"]
Counted = Literal["pass", "fail", "excluded"]
AnalysisVerdict = Literal["pass", "marginal", "fail", "inconclusive"]
#: The one-sided (or two-sided) test that matches what a metric watches.
ALTERNATIVES: dict[str, Alternative] = {
    "increase": "greater",
    "decrease": "less",
    "either": "two-sided",
}
#: How a metric without data counts, per `on_no_data`.
NO_DATA_COUNTS: dict[str, Counted] = {"fail": "fail", "pass": "pass", "inconclusive": "excluded"}


@dataclass(frozen=True)
class MetricVerdict:
    """How one metric compared, and how that counts in the score."""

    name: str
    verdict: MetricVerdictName
    counted: Counted
    weight: float
    critical: bool
    reason: str
    new_samples: int
    baseline_samples: int
    new_mean: float | None = None
    baseline_mean: float | None = None
    difference: float | None = None
    shift: float | None = None
    pvalue: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AnalysisResult:
    """The verdict of the whole analysis, its score (None when nothing was counted) and
    every metric's verdict."""

    verdict: AnalysisVerdict
    score: float | None
    reason: str
    metrics: list[MetricVerdict] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "score": self.score,
            "reason": self.reason,
            "metrics": [m.to_dict() for m in self.metrics],
        }

    def summary(self) -> str:
        """One line: the verdict, the score and each metric's verdict."""
        score = "no score" if self.score is None else f"score {self.score:.0f}"
        metrics = ", ".join(f"{m.name} {m.verdict.replace('_', ' ')}" for m in self.metrics)
        return f"analysis {self.verdict}: {score} ({metrics}); {self.reason}"


def judge_metric(
    metric: AnalysisMetric,
    new: Sequence[float],
    baseline: Sequence[float],
    *,
    confidence: float,
    on_no_data: Literal["fail", "pass", "inconclusive"],
) -> MetricVerdict:
    """The verdict of one metric from its samples in each release (NaN and infinities,
    such as 0/0 ratios, are not samples)."""
    new = [v for v in new if math.isfinite(v)]
    baseline = [v for v in baseline if math.isfinite(v)]
    base: dict[str, Any] = {
        "name": metric.name,
        "weight": metric.weight,
        "critical": metric.critical,
        "new_samples": len(new),
        "baseline_samples": len(baseline),
    }
    missing = [
        f"{side} release has {count} sample{'s' if count != 1 else ''}"
        for side, count in (("the new", len(new)), ("the previous", len(baseline)))
        if count < MIN_SAMPLES
    ]
    if missing:
        counted = NO_DATA_COUNTS[on_no_data]
        reason = f"no data: {' and '.join(missing)} (fewer than {MIN_SAMPLES})"
        how = {"fail": "counted as a failure", "pass": "counted as a pass"}
        reason += f"; on_no_data: {on_no_data}, " + how.get(on_no_data, "left out of the score")
        return MetricVerdict(verdict="no_data", counted=counted, reason=reason, **base)
    new_mean, baseline_mean = sum(new) / len(new), sum(baseline) / len(baseline)
    difference = new_mean - baseline_mean
    test = mann_whitney_u(new, baseline, alternative=ALTERNATIVES[metric.direction])
    verdict, reason = _compare(metric, difference, test.pvalue < 1 - confidence)
    if verdict == "pass" and test.pvalue >= 1 - confidence:
        reason = f"no significant change (p={test.pvalue:.3g}, difference {difference:+.4g})"
    return MetricVerdict(
        verdict=verdict,
        counted="pass" if verdict == "pass" else "fail",
        reason=reason,
        new_mean=new_mean,
        baseline_mean=baseline_mean,
        difference=difference,
        shift=hodges_lehmann(new, baseline),
        pvalue=test.pvalue,
        **base,
    )


def _compare(
    metric: AnalysisMetric, difference: float, significant: bool
) -> tuple[MetricVerdictName, str]:
    """A significant change fails when it is larger than the metric allows."""
    watches_up = metric.direction in ("increase", "either")
    watches_down = metric.direction in ("decrease", "either")
    if significant and watches_up and difference > (metric.max_increase or 0.0):
        return "high", f"rose by {difference:.4g} (allowed {metric.max_increase or 0:g})"
    if significant and watches_down and -difference > (metric.max_decrease or 0.0):
        return "low", f"fell by {-difference:.4g} (allowed {metric.max_decrease or 0:g})"
    return "pass", f"changed by {difference:+.4g}, within what is allowed"


def score(spec: AnalysisSpec, metrics: Sequence[MetricVerdict]) -> AnalysisResult:
    """Combine the metrics' verdicts: 100 times the weight of the passing metrics over the
    weight of every counted one; a failed critical metric fails the analysis whatever
    the score; a metric left out for lack of data makes a passing analysis inconclusive."""
    counted = [m for m in metrics if m.counted != "excluded"]
    excluded = [m.name for m in metrics if m.counted == "excluded"]
    total = sum(m.weight for m in counted)
    value = None if total == 0 else 100 * sum(m.weight for m in counted if m.counted == "pass")
    value = None if value is None else round(value / total, 2)
    failed_critical = [m.name for m in counted if m.critical and m.counted == "fail"]
    verdict: AnalysisVerdict
    if failed_critical:
        verdict, reason = "fail", f"critical metric failed: {', '.join(failed_critical)}"
    elif value is None:
        verdict, reason = "inconclusive", f"no metric could be judged ({', '.join(excluded)})"
    elif value < spec.marginal_score:
        verdict, reason = "fail", f"score below marginal_score {spec.marginal_score:g}"
    elif excluded:
        verdict, reason = "inconclusive", f"no data for {', '.join(excluded)}"
    elif value < spec.pass_score:
        verdict, reason = "marginal", f"score below pass_score {spec.pass_score:g}"
    else:
        verdict, reason = "pass", f"score at or above pass_score {spec.pass_score:g}"
    return AnalysisResult(verdict=verdict, score=value, reason=reason, metrics=list(metrics))
