"""`shipway alerts`: list an environment's alerts, silence and unsilence them, and show
the notification attempts (`history`).

Alerts are evaluated by the agent (`monitor/alerts/collector.py`); these commands read
and write the state store only.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
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
from shipway.monitor.alerts.model import Alert, Silence
from shipway.monitor.alerts.silences import create_silence, silenced_by
from shipway.orchestrator.client import current_user
from shipway.store import Store

alerts_app = typer.Typer(
    help="List alerts, silence them, and see the notifications sent.", no_args_is_help=True
)

STATE_STYLE = {"firing": "red", "pending": "yellow", "resolved": "green"}


class StateFilter(enum.StrEnum):
    firing = "firing"
    pending = "pending"
    resolved = "resolved"


def _project(file: Any, env: str) -> str:
    loaded = manifest(file)
    resolve_environment(loaded, env)  # an unknown environment is bad input
    return loaded.manifest.project


def _now() -> datetime:
    return datetime.now(UTC)


@alerts_app.command("list")
def list_alerts(
    env: EnvOpt,
    state_filter: Annotated[
        StateFilter | None,
        typer.Option("--status", help="Only alerts in this state (firing, pending, ...)."),
    ] = None,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """List ENV's alerts (pending, firing, and recently resolved)."""
    project = _project(file, env)
    now = _now()
    with Store.open(workspace(file, state).state_url) as store:
        states = None if state_filter is None else [state_filter.value]
        alerts = store.alerts.instances(project, env, states=states)
        silences = store.alerts.silences(project, env, active_at=now)
    if output is OutputFormat.json:
        print_json([_alert_json(a, silences, now) for a in alerts])
        return
    if not alerts:
        console.print(f"{project}/{env}: no alerts", markup=False)
        return
    table = Table("state", "alert", "labels", "value", "since", "silenced")
    for alert in alerts:
        since = alert.resolved_at or alert.fired_at or alert.active_at
        table.add_row(
            Text(alert.state, style=STATE_STYLE.get(alert.state, "")),
            Text(alert.name),
            Text(_labels(alert)),
            "-" if alert.value is None else f"{alert.value:g}",
            since.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            "yes" if silenced_by(alert, silences, now) else "",
        )
    console.print(table)


def _labels(alert: Alert) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()) if k != "alertname")


def _alert_json(alert: Alert, silences: list[Silence], now: datetime) -> dict[str, Any]:
    return {
        "rule": alert.rule,
        "state": alert.state,
        "labels": alert.labels,
        "annotations": alert.annotations,
        "value": alert.value,
        "fingerprint": alert.fingerprint,
        "active_at": alert.active_at,
        "fired_at": alert.fired_at,
        "resolved_at": alert.resolved_at,
        "silenced_by": silenced_by(alert, silences, now),
    }


def _silence_json(silence: Silence, now: datetime) -> dict[str, Any]:
    return {
        "id": silence.id,
        "status": silence.status(now),
        "matchers": [str(m) for m in silence.matchers],
        "starts_at": silence.starts_at,
        "ends_at": silence.ends_at,
        "author": silence.author,
        "comment": silence.comment,
    }


@alerts_app.command("silence")
def silence(
    env: EnvOpt,
    matchers: Annotated[
        list[str], typer.Argument(help='Label matchers: name=value, name!=value, name=~"regex".')
    ],
    duration: Annotated[str, typer.Option("--duration", "-d", help="How long, e.g. 2h.")] = "2h",
    comment: Annotated[str, typer.Option("--comment", "-c", help="Why (required).")] = "",
    author: Annotated[
        str | None, typer.Option("--author", help="Who; default: the current user.")
    ] = None,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Silence ENV's alerts that match every MATCHER, for --duration. Prints the id."""
    project = _project(file, env)
    now = _now()
    with Store.open(workspace(file, state).state_url) as store:
        created = create_silence(
            store,
            project,
            env,
            matchers,
            duration=duration,
            comment=comment,
            author=author or current_user(),
            now=now,
        )
    if output is OutputFormat.json:
        print_json(_silence_json(created, now))
    else:
        typer.echo(created.id)


@alerts_app.command("unsilence")
def unsilence(
    silence_id: Annotated[str, typer.Argument(metavar="ID", help="The silence's id.")],
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """End a silence now (it stays listed as expired)."""
    now = _now()
    with Store.open(workspace(file, state).state_url) as store:
        ended = store.alerts.expire_silence(silence_id, now)
    if output is OutputFormat.json:
        print_json(_silence_json(ended, now))
    else:
        console.print(f"silence {ended.id} expired", markup=False)


@alerts_app.command("silences")
def silences(
    env: EnvOpt,
    all_: Annotated[bool, typer.Option("--all", help="Include expired silences.")] = False,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """List ENV's silences (active and pending; --all adds expired ones)."""
    project = _project(file, env)
    now = _now()
    with Store.open(workspace(file, state).state_url) as store:
        found = store.alerts.silences(project, env)
    shown = [s for s in found if all_ or s.status(now) != "expired"]
    if output is OutputFormat.json:
        print_json([_silence_json(s, now) for s in shown])
        return
    if not shown:
        console.print(f"{project}/{env}: no silences", markup=False)
        return
    table = Table("id", "status", "matchers", "ends", "by", "comment")
    for item in shown:
        table.add_row(
            item.id,
            item.status(now),
            Text(" ".join(str(m) for m in item.matchers)),
            item.ends_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            Text(item.author),
            Text(item.comment),
        )
    console.print(table)


@alerts_app.command("history")
def history(
    env: EnvOpt,
    channel: Annotated[str | None, typer.Option("--channel", help="Only this channel.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many attempts.")] = 50,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """List ENV's notification attempts, newest first."""
    project = _project(file, env)
    with Store.open(workspace(file, state).state_url) as store:
        attempts = store.alerts.attempts(project, env, channel=channel, limit=limit)
    if output is OutputFormat.json:
        print_json(
            [
                {
                    "id": a.id,
                    "at": a.at,
                    "channel": a.channel,
                    "kind": a.kind,
                    "status": a.status,
                    "alerts": a.alerts,
                    "attempt": a.attempt,
                    "outcome": a.outcome,
                    "error": a.error,
                    "group_key": a.group_key,
                    "duration_ms": round(a.duration_ms, 1),
                }
                for a in attempts
            ]
        )
        return
    if not attempts:
        console.print(f"{project}/{env}: no notifications sent yet", markup=False)
        return
    table = Table("when", "channel", "status", "alerts", "try", "outcome", "error")
    for a in attempts:
        table.add_row(
            a.at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            Text(a.channel),
            a.status,
            str(a.alerts),
            str(a.attempt),
            Text(a.outcome, style="green" if a.outcome == "sent" else "red"),
            Text(a.error or ""),
        )
    console.print(table)
