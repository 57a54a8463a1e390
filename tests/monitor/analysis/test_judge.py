"""Per-metric verdicts and the weighted score: significant and too large changes fail,
noise and allowed changes pass, "no data" is a verdict of its own that never passes
silently, critical metrics fail the analysis whatever the score."""

from __future__ import annotations

import random
from typing import Any

import pytest

from shipway.manifest.monitoring import AnalysisMetric, AnalysisSpec
from shipway.monitor.analysis.judge import MetricVerdict, judge_metric, score


def _metric(**fields: Any) -> AnalysisMetric:
    fields.setdefault("name", "error_rate")
    fields.setdefault("query", "x")
    return AnalysisMetric.model_validate(fields)


def _noisy(rng: random.Random, level: float, n: int = 12, spread: float = 0.005) -> list[float]:
    return [rng.gauss(level, spread) for _ in range(n)]


def _judge(metric: AnalysisMetric, new: list[float], old: list[float], **kw: Any) -> MetricVerdict:
    kw.setdefault("confidence", 0.95)
    kw.setdefault("on_no_data", "fail")
    return judge_metric(metric, new, old, **kw)


def test_a_doubled_error_rate_is_high() -> None:
    rng = random.Random(1)
    verdict = _judge(_metric(max_increase=0.02), _noisy(rng, 0.2), _noisy(rng, 0.1))
    assert verdict.verdict == "high" and verdict.counted == "fail"
    assert verdict.difference == pytest.approx(0.1, abs=0.01)
    assert verdict.pvalue is not None and verdict.pvalue < 0.001
    assert "rose by" in verdict.reason


def test_a_significant_change_within_the_tolerance_passes() -> None:
    rng = random.Random(2)
    verdict = _judge(_metric(max_increase=0.05), _noisy(rng, 0.12), _noisy(rng, 0.1))
    assert verdict.verdict == "pass"
    assert verdict.pvalue is not None and verdict.pvalue < 0.05
    assert "within what is allowed" in verdict.reason


def test_noise_passes_but_for_the_chosen_false_alarm_rate() -> None:
    rng = random.Random(3)
    runs = [
        _judge(_metric(max_increase=0.0), _noisy(rng, 0.1), _noisy(rng, 0.1)).verdict
        for _ in range(400)
    ]
    # One-sided test at confidence 0.95: about 5% of pure noise looks like an increase.
    assert 0.02 <= runs.count("high") / len(runs) <= 0.08
    # A tolerance above the noise takes those false alarms away.
    tolerant = [
        _judge(_metric(max_increase=0.01), _noisy(rng, 0.1), _noisy(rng, 0.1)).verdict
        for _ in range(400)
    ]
    assert tolerant.count("pass") == 400


def test_a_decrease_only_fails_a_metric_that_watches_decreases() -> None:
    rng = random.Random(4)
    new, old = _noisy(rng, 50, spread=1), _noisy(rng, 100, spread=1)
    assert _judge(_metric(), new, old).verdict == "pass"  # direction: increase
    down = _judge(_metric(direction="decrease", max_decrease=10), new, old)
    assert down.verdict == "low" and "fell by" in down.reason
    assert _judge(_metric(direction="either", max_decrease=10), new, old).verdict == "low"
    assert _judge(_metric(direction="either", max_decrease=60), new, old).verdict == "pass"
    assert _judge(_metric(direction="either"), old, new).verdict == "high"


@pytest.mark.parametrize(
    ("on_no_data", "counted"), [("fail", "fail"), ("pass", "pass"), ("inconclusive", "excluded")]
)
def test_no_data_is_its_own_verdict(on_no_data: str, counted: str) -> None:
    verdict = _judge(_metric(), [], [0.1] * 10, on_no_data=on_no_data)
    assert verdict.verdict == "no_data"
    assert verdict.counted == counted
    assert "the new release has 0 samples" in verdict.reason
    assert f"on_no_data: {on_no_data}" in verdict.reason


def test_too_few_or_only_nan_samples_are_no_data() -> None:
    verdict = _judge(_metric(), [0.1, 0.2], [float("nan")] * 10)
    assert verdict.verdict == "no_data"
    assert "the new release has 2 samples" in verdict.reason
    assert "the previous release has 0 samples" in verdict.reason


def _verdict(name: str, counted: str, weight: float = 1.0, critical: bool = False) -> MetricVerdict:
    verdict = {"pass": "pass", "fail": "high", "excluded": "no_data"}[counted]
    return MetricVerdict(
        name=name,
        verdict=verdict,  # type: ignore[arg-type]
        counted=counted,  # type: ignore[arg-type]
        weight=weight,
        critical=critical,
        reason="",
        new_samples=10,
        baseline_samples=10,
    )


SPEC = AnalysisSpec.model_validate({"metrics": []})


def test_the_score_is_the_weighted_share_of_passing_metrics() -> None:
    result = score(SPEC, [_verdict("a", "pass", 3), _verdict("b", "fail", 1)])
    assert result.score == 75.0
    assert result.verdict == "marginal"  # Kayenta's defaults: marginal 75, pass 95
    assert score(SPEC, [_verdict("a", "pass")]).verdict == "pass"
    low = score(SPEC, [_verdict("a", "pass", 2), _verdict("b", "fail", 1)])
    assert low.score == pytest.approx(66.67) and low.verdict == "fail"
    assert "marginal_score 75" in low.reason


def test_a_failed_critical_metric_fails_whatever_the_score() -> None:
    result = score(SPEC, [_verdict("a", "pass", 99), _verdict("latency", "fail", 1, critical=True)])
    assert result.score == 99.0
    assert result.verdict == "fail"
    assert "critical metric failed: latency" in result.reason


def test_excluded_metrics_make_the_analysis_inconclusive_not_passed() -> None:
    only = score(SPEC, [_verdict("a", "excluded")])
    assert only.score is None and only.verdict == "inconclusive"
    mixed = score(SPEC, [_verdict("a", "pass"), _verdict("b", "excluded")])
    assert mixed.score == 100.0 and mixed.verdict == "inconclusive"
    assert "no data for b" in mixed.reason
    # A failing score stays a failure: missing data cannot soften it.
    assert score(SPEC, [_verdict("a", "fail"), _verdict("b", "excluded")]).verdict == "fail"


def test_the_thresholds_come_from_the_manifest() -> None:
    spec = AnalysisSpec.model_validate({"metrics": [], "pass_score": 50, "marginal_score": 40})
    assert score(spec, [_verdict("a", "pass"), _verdict("b", "fail")]).verdict == "pass"


def test_the_summary_names_every_metric_verdict() -> None:
    result = score(SPEC, [_verdict("errors", "fail"), _verdict("latency", "excluded")])
    assert result.summary().startswith("analysis fail: score 0 (errors high, latency no data)")
