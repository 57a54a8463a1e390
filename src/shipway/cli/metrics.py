"""`shipway metrics query EXPR`: evaluate a PromQL expression over an environment's
metrics at an instant (`--at`) or over a range (`--range 1h --step 15s`), from the state
store or from `monitoring.prometheus_url`. JSON output has the shape of Prometheus's
/api/v1/query answers (values as strings, so NaN and Inf survive)."""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

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
from shipway.errors import InputError
from shipway.manifest import resolve_environment
from shipway.monitor.promql.lexer import parse_duration
from shipway.monitor.query import instant_query, range_query
from shipway.store import Store

metrics_app = typer.Typer(help="Query the metrics shipway stores.", no_args_is_help=True)

_RELATIVE = re.compile(r"^(?:now)?-([0-9a-z]+)$")


def parse_time(text: str, now: float) -> float:
    """Unix seconds, RFC 3339 (`2026-12-03T18:00:00Z`), `now` or `now-5m` / `-5m`."""
    text = text.strip()
    if text == "now":
        return now
    if m := _RELATIVE.match(text):
        return now - _seconds(m.group(1), "--at")
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as e:
        raise InputError(
            f"invalid time {text!r}: use Unix seconds, RFC 3339 or now-DURATION"
        ) from e
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _seconds(text: str, option: str) -> float:
    try:
        return parse_duration(text, 0) / 1000.0
    except InputError as e:
        raise InputError(f"{option}: invalid duration {text!r} (use e.g. 15s, 5m, 1h)") from e


def _value(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))  # as Prometheus writes it: 1, not 1.0
    return repr(v)


def _labels(labels: dict[str, str]) -> str:
    name = labels.get("__name__", "")
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{inner}}}"


@metrics_app.command("query")
def query(
    expr: Annotated[str, typer.Argument(help="A PromQL expression.")],
    env: EnvOpt,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
    at: Annotated[
        str | None,
        typer.Option("--at", help="Evaluation time (default now); with --range, the end."),
    ] = None,
    range_: Annotated[
        str | None, typer.Option("--range", help="Evaluate over this long a range, e.g. 1h.")
    ] = None,
    step: Annotated[str, typer.Option("--step", help="Range query resolution.")] = "15s",
) -> None:
    """Evaluate EXPR over the metrics of ENV (`-e`)."""
    loaded = manifest(file)
    project = loaded.manifest.project
    monitoring = resolve_environment(loaded, env).monitoring
    now = time.time()
    when = parse_time(at, now) if at else now
    ws = workspace(file, state)
    with Store.open(ws.state_url) as store:
        if range_ is None:
            vector = instant_query(store, project, env, expr, when, monitoring=monitoring)
            _print_vector(vector, when, output)
            return
        length = _seconds(range_, "--range")
        matrix = range_query(
            store,
            project,
            env,
            expr,
            when - length,
            when,
            _seconds(step, "--step"),
            monitoring=monitoring,
        )
        _print_matrix(matrix, output)


def _print_vector(
    vector: list[tuple[dict[str, str], float]], when: float, output: OutputFormat
) -> None:
    if output is OutputFormat.json:
        result: list[dict[str, Any]] = [
            {"metric": labels, "value": [when, _value(v)]} for labels, v in vector
        ]
        print_json({"resultType": "vector", "result": result})
        return
    if not vector:
        console.print("no data", markup=False)
        return
    table = Table("series", "value")
    for labels, v in vector:
        table.add_row(_labels(labels), _value(v))
    console.print(table)


def _print_matrix(
    matrix: list[tuple[dict[str, str], list[tuple[float, float]]]], output: OutputFormat
) -> None:
    if output is OutputFormat.json:
        result = [
            {"metric": labels, "values": [[t, _value(v)] for t, v in points]}
            for labels, points in matrix
        ]
        print_json({"resultType": "matrix", "result": result})
        return
    if not matrix:
        console.print("no data", markup=False)
        return
    table = Table("series", "points", "first", "last", "min", "max")
    for labels, points in matrix:
        values = [v for _, v in points]
        finite = [v for v in values if not math.isnan(v)] or [math.nan]
        table.add_row(
            _labels(labels),
            str(len(points)),
            _value(values[0]),
            _value(values[-1]),
            _value(min(finite)),
            _value(max(finite)),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    from shipway.cli import analyses

    metrics_app.command("anomalies")(analyses.anomalies)
    metrics_app.command("analyses")(analyses.analyses)
    app.add_typer(metrics_app, name="metrics")
