"""Each load run compared with the last passing run that had the same settings.

The settings (environment, rate, duration, connections, timeout and requests) make the
key: two runs at different rates are not comparable, so a changed load test starts a new
baseline instead of reporting a false regression. A run becomes the baseline only when it
passed, so one bad release does not lower the bar for the next. Baselines live in the
tester's cache folder (`.shipway/cache/tester/load/`), one small JSON file per key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shipway.manifest.fields import Fraction
from shipway.tester.load.generator import LoadStats
from shipway.tester.results import CaseResult

_PERCENTILES = ("p50", "p95", "p99")


@dataclass(frozen=True)
class LoadBaseline:
    """What a passing run measured, for the next run to compare with."""

    recorded_at: str
    label: str
    p50: float
    p95: float
    p99: float
    error_rate: float
    achieved_rate: float

    @classmethod
    def of(cls, stats: LoadStats, label: str) -> LoadBaseline:
        latency = stats.latency.summary_ms()
        return cls(
            recorded_at=datetime.now(UTC).isoformat(timespec="seconds"),
            label=label,
            p50=latency["p50"],
            p95=latency["p95"],
            p99=latency["p99"],
            error_rate=round(stats.error_rate, 6),
            achieved_rate=round(stats.achieved_rate, 2),
        )


def baseline_key(environment: str, config: dict[str, Any]) -> str:
    """The comparability key of a run: its environment and load settings."""
    canonical = json.dumps({"environment": environment, **config}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _path(cache_dir: Path, key: str) -> Path:
    return cache_dir / "load" / f"baseline-{key}.json"


def read_baseline(cache_dir: Path, key: str) -> LoadBaseline | None:
    try:
        return LoadBaseline(**json.loads(_path(cache_dir, key).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def write_baseline(cache_dir: Path, key: str, baseline: LoadBaseline) -> None:
    path = _path(cache_dir, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(baseline), indent=2) + "\n")
    tmp.replace(path)


def comparison_case(
    previous: LoadBaseline | None,
    current: LoadBaseline,
    max_p95_increase: Fraction | None,
    artifacts: tuple[str, ...],
) -> CaseResult:
    """`compared with the previous run`: the change of each percentile, the error rate
    and the throughput; failed when p95 grew by more than `max_p95_increase`."""
    name = "compared with the previous run"
    if previous is None:
        return CaseResult(
            kind="load",
            suite="load",
            name=name,
            status="skipped",
            message="no earlier passing run with the same load settings: this run is the "
            "baseline if it passes",
            artifacts=artifacts,
        )
    parts = []
    for key in _PERCENTILES:
        before, after = getattr(previous, key), getattr(current, key)
        parts.append(f"{key} {after:.1f}ms ({_ratio(before, after) * 100:+.0f}%)")
    parts.append(
        f"error rate {current.error_rate * 100:.2f}% "
        f"({(current.error_rate - previous.error_rate) * 100:+.2f} pts)"
    )
    parts.append(f"{current.achieved_rate:.0f} req/s")
    message = ", ".join(parts) + f"; baseline {previous.label} ({previous.recorded_at})"
    increase = _ratio(previous.p95, current.p95)
    failed = max_p95_increase is not None and increase > float(max_p95_increase)
    if failed:
        assert max_p95_increase is not None
        message = (
            f"p95 latency grew by {increase * 100:.0f}% over the baseline, more than the "
            f"{max_p95_increase.text} allowed: " + message
        )
    properties = {
        f"{key}_change": f"{_ratio(getattr(previous, key), getattr(current, key)):.4f}"
        for key in _PERCENTILES
    }
    return CaseResult(
        kind="load",
        suite="load",
        name=name,
        status="failed" if failed else "passed",
        message=message,
        artifacts=artifacts,
        properties={**properties, "baseline": previous.label},
    )


def _ratio(before: float, after: float) -> float:
    """Relative change; a baseline of 0 (a sub-microsecond histogram) counts as no change."""
    return (after - before) / before if before > 0 else 0.0
