"""`shipway metrics anomalies` and `shipway metrics analyses`: what the agent's anomaly
detectors found and what each post-release analysis decided, from the state store."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from shipway.cli.options import (
    DEFAULT_FILE,
    EnvOpt,
    FileOpt,
    OutputFormat,
    OutputOpt,
    StateOpt,
    manifest,
    workspace,
)
from shipway.cli.output import console, print_json
from shipway.manifest import resolve_environment
from shipway.store import Store
from shipway.store.analyses import AnalysisRecord, AnomalyRecord

_VERDICT_STYLE = {"pass": "green", "marginal": "yellow", "fail": "red", "inconclusive": "red"}
LimitOpt = Annotated[int, typer.Option("--limit", min=1, help="At most this many, newest first.")]


def _project(file: Path, env: str) -> str:
    loaded = manifest(file)
    resolve_environment(loaded, env)  # an unknown environment is bad input
    return loaded.manifest.project


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


def anomalies(
    env: EnvOpt,
    since: Annotated[
        str | None, typer.Option("--since", help="Only anomalies newer than this, e.g. 1h.")
    ] = None,
    rule: Annotated[str | None, typer.Option("--rule", help="Only this anomaly rule.")] = None,
    limit: LimitOpt = 100,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Anomalies the agent found in ENV's series (`monitoring.anomalies`)."""
    from shipway.cli.metrics import parse_time

    project = _project(file, env)
    start = None if since is None else parse_time(f"now-{since}", time.time())
    with Store.open(workspace(file, state).state_url) as store:
        found = store.analyses.anomalies(project, env, since=start, rule=rule, limit=limit)
    if output is OutputFormat.json:
        print_json([_anomaly_json(a) for a in found])
        return
    if not found:
        console.print(f"{project}/{env}: no anomalies recorded", markup=False)
        return
    table = Table("at", "rule", "detector", "series", "value", "expected", "score")
    for a in found:
        series = ", ".join(f"{k}={v}" for k, v in sorted(a.labels.items()))
        table.add_row(
            _when(a.at),
            a.rule,
            a.detector,
            Text(series),
            f"{a.value:g}",
            f"{a.expected:g}",
            f"{a.score:.1f}",
        )
    console.print(table)


def _anomaly_json(a: AnomalyRecord) -> dict[str, Any]:
    return {
        "at": a.at,
        "rule": a.rule,
        "detector": a.detector,
        "labels": a.labels,
        "value": a.value,
        "expected": a.expected,
        "score": a.score,
        "deployment_id": a.deployment_id,
    }


def analyses(
    env: EnvOpt,
    limit: LimitOpt = 20,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Post-release analyses of ENV (the observe stage): verdict, score, each metric."""
    project = _project(file, env)
    with Store.open(workspace(file, state).state_url) as store:
        found = store.analyses.analyses(project, env, limit=limit)
    if output is OutputFormat.json:
        print_json([_analysis_json(a) for a in found])
        return
    if not found:
        console.print(f"{project}/{env}: no analyses recorded", markup=False)
        return
    for a in found:
        score = "-" if a.score is None else f"{a.score:.0f}"
        head = Text(f"{a.deployment_id}  {a.release_id} vs {a.baseline_release_id or '-'}  ")
        head.append(f"{a.verdict} ({score})", style=_VERDICT_STYLE.get(a.verdict, ""))
        console.print(head)
        if a.reason:
            console.print(Text(f"  {a.reason}"))
        for metric in a.metrics:
            console.print(
                Text(
                    f"  {metric.get('name')}: {metric.get('verdict')}"
                    f" {metric.get('reason', '')}".rstrip()
                )
            )


def _analysis_json(a: AnalysisRecord) -> dict[str, Any]:
    return {
        "deployment_id": a.deployment_id,
        "release_id": a.release_id,
        "baseline_release_id": a.baseline_release_id,
        "verdict": a.verdict,
        "score": a.score,
        "reason": a.reason,
        "metrics": a.metrics,
        "windows": a.windows,
        "created_at": a.created_at.isoformat(),
    }
