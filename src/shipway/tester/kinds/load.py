"""The `load` kind: an open-model load test at a constant rate against the release,
judged by its SLOs on latency percentiles and error rate, and compared with the last
passing run of the same settings (`load/baseline.py`). The generator runs on its own
uvloop event loop in a thread; its histograms and a summary are kept as artifacts, in a
format that compares run to run."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from shipway.manifest.testing import IntegrationTestsSpec, LoadTest
from shipway.tester.api.requests import build_request
from shipway.tester.kinds.interface import TestKind, TestKindError, TestTarget
from shipway.tester.load.baseline import (
    LoadBaseline,
    baseline_key,
    comparison_case,
    read_baseline,
    write_baseline,
)
from shipway.tester.load.generator import LoadPlan, LoadStats, run_in_thread
from shipway.tester.load.slo import slo_cases
from shipway.tester.load.wire import WireRequest, wire_request
from shipway.tester.references import UnresolvedReferenceError
from shipway.tester.results import CaseResult


class LoadKind(TestKind):
    name = "load"

    def describe(self, spec: IntegrationTestsSpec) -> str:
        load = spec.load
        assert load is not None
        limits = [
            f"{key} {value.text}"
            for key in ("p50", "p95", "p99", "error_rate")
            if (value := getattr(load.slo, key)) is not None
        ]
        slo = f", SLO {', '.join(limits)}" if limits else ""
        return f"load test at {load.rate.text} for {load.duration.text}{slo}"

    async def cases(
        self, spec: IntegrationTestsSpec, target: TestTarget
    ) -> AsyncIterator[CaseResult]:
        load = spec.load
        assert load is not None
        plan = _plan(load, target)
        stats = await asyncio.to_thread(
            run_in_thread,
            plan,
            lambda data: target.observer.progress("load", data),
            target.cancel,
        )
        artifacts = _keep(plan, stats, target)
        summary = _summary(plan, stats, artifacts)
        yield summary
        verdicts = slo_cases(load.slo, stats, artifacts)
        for case in verdicts:
            yield case
        yield _compared(
            plan,
            stats,
            target,
            artifacts,
            load,
            passed=summary.ok and all(case.ok for case in verdicts),
        )


def _plan(load: LoadTest, target: TestTarget) -> LoadPlan:
    base = target.require_url("load")
    parts = urlsplit(base)
    if parts.scheme != "http" or parts.hostname is None:
        raise TestKindError(f"load tests speak plain HTTP/1.1; cannot test {base}")
    wire: list[WireRequest] = []
    for spec in load.requests:
        try:
            built = build_request(spec, target.references, base)
        except UnresolvedReferenceError as exc:
            raise TestKindError(f"load request {spec.method} {spec.target}: {exc}") from exc
        if urlsplit(built.url).netloc != parts.netloc:
            raise TestKindError(f"load requests go to the tested service, not {built.url}")
        label = f"{spec.method} {spec.target}"
        wire.append(wire_request(built.method, built.url, built.headers, built.content, label))
    return LoadPlan(
        host=parts.hostname,
        port=parts.port or 80,
        requests=tuple(wire),
        rate=float(load.rate),
        duration=float(load.duration),
        connections=load.connections,
        timeout=float(load.timeout),
    )


def _compared(
    plan: LoadPlan,
    stats: LoadStats,
    target: TestTarget,
    artifacts: tuple[str, ...],
    load: LoadTest,
    *,
    passed: bool,
) -> CaseResult:
    """The run against the last passing run with the same settings; a passing run that
    stays within `slo.max_p95_increase` becomes the next baseline."""
    environment = str(target.references.variables.get("environment", ""))
    key = baseline_key(environment, _config(plan))
    previous = read_baseline(target.cache_dir, key)
    current = LoadBaseline.of(stats, target.artifacts.root.parent.name)
    case = comparison_case(previous, current, load.slo.max_p95_increase, artifacts)
    if passed and case.ok:
        write_baseline(target.cache_dir, key, current)
    return case


def _config(plan: LoadPlan) -> dict[str, object]:
    return {
        "rate": plan.rate,
        "duration": plan.duration,
        "connections": plan.connections,
        "timeout": plan.timeout,
        "requests": [request.label for request in plan.requests],
    }


def _keep(plan: LoadPlan, stats: LoadStats, target: TestTarget) -> tuple[str, ...]:
    store = target.artifacts
    summary = store.write_json("load", "summary", {"config": _config(plan), **stats.to_dict()})
    histogram = store.write_json(
        "load",
        "histograms",
        {
            "latency": stats.latency.to_dict(),
            "service": stats.service.to_dict(),
            "by_request": {label: h.to_dict() for label, h in stats.by_label.items()},
        },
    )
    text = store.write_text("load", "latency", ".hgrm", stats.latency.distribution())
    return summary, histogram, text


def _summary(plan: LoadPlan, stats: LoadStats, artifacts: tuple[str, ...]) -> CaseResult:
    latency = stats.latency.summary_ms()
    message = (
        f"{stats.sent} requests at {stats.achieved_rate:.0f}/s (target {plan.rate:g}/s): "
        f"p50 {latency['p50']:.1f}ms, p95 {latency['p95']:.1f}ms, p99 {latency['p99']:.1f}ms, "
        f"{stats.failed} errors"
    )
    answered = stats.succeeded > 0
    return CaseResult(
        kind="load",
        suite="load",
        name="requests",
        status="passed" if answered else "failed",
        seconds=stats.seconds,
        message=message if answered else "no request got an answer: " + message,
        artifacts=artifacts,
        properties={
            "achieved_rate": f"{stats.achieved_rate:.1f}",
            "error_rate": f"{stats.error_rate:.6f}",
            **{f"{key}_ms": f"{value:.3f}" for key, value in latency.items()},
        },
        data=json.loads(json.dumps({"config": _config(plan), **stats.to_dict()})),
    )
