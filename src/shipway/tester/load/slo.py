"""Turning a load run into verdicts: one case per SLO limit, passed or failed with the
observed value and what contributed most."""

from __future__ import annotations

from shipway.manifest.testing import LoadSlo
from shipway.tester.load.generator import LoadStats
from shipway.tester.results import CaseResult

_PERCENTILES = (("p50", 50.0), ("p95", 95.0), ("p99", 99.0))


def slo_cases(slo: LoadSlo, stats: LoadStats, artifacts: tuple[str, ...]) -> list[CaseResult]:
    cases = []
    for key, percent in _PERCENTILES:
        limit = getattr(slo, key)
        if limit is None:
            continue
        observed = stats.latency.percentile(percent) / 1_000_000
        name = f"{key} <= {limit.text}"
        shown = f"{key} latency {observed * 1000:.1f}ms"
        if observed <= float(limit):
            cases.append(_case(name, "passed", f"{shown} (limit {limit.text})", artifacts))
        else:
            worst = _slowest(stats, percent)
            cases.append(
                _case(name, "failed", f"{shown} is over the SLO of {limit.text}{worst}", artifacts)
            )
    if slo.error_rate is not None:
        limit_text = slo.error_rate.text
        shown = f"error rate {stats.error_rate * 100:.2f}%"
        name = f"error_rate <= {limit_text}"
        if stats.error_rate <= float(slo.error_rate):
            cases.append(_case(name, "passed", f"{shown} (limit {limit_text})", artifacts))
        else:
            reasons = ", ".join(f"{reason}: {n}" for reason, n in stats.errors.most_common(3))
            message = f"{shown} is over the SLO of {limit_text} ({reasons})"
            cases.append(_case(name, "failed", message, artifacts))
    return cases


def _slowest(stats: LoadStats, percent: float) -> str:
    if len(stats.by_label) < 2:
        return ""
    label, histogram = max(stats.by_label.items(), key=lambda item: item[1].percentile(percent))
    return f" (slowest: {label} at {histogram.percentile(percent) / 1000:.1f}ms)"


def _case(name: str, status: str, message: str, artifacts: tuple[str, ...]) -> CaseResult:
    return CaseResult(
        kind="load",
        suite="load",
        name=name,
        status="passed" if status == "passed" else "failed",
        message=message,
        artifacts=artifacts,
    )
