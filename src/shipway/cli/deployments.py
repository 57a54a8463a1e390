"""Commands that run and inspect deployments: deploy, status, history, events, cancel,
resume, rollback, approve."""

from __future__ import annotations

import sys
import time
from typing import Annotated, Any

import typer
from rich.table import Table

from shipway.cli.live import follow_live, print_events
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
from shipway.cli.output import clock, console, duration, err_console, print_json, styled
from shipway.cli.releases import print_services, recover_agent, services_json
from shipway.errors import BlockedError
from shipway.orchestrator.client import WAIT_FOREVER, DeploymentClient
from shipway.orchestrator.names import WAIT_EXCEEDED
from shipway.orchestrator.pipeline import Pipeline
from shipway.store.records import DeploymentRecord

WaitOpt = Annotated[
    str | None,
    typer.Option(
        "--wait",
        help="Queue behind a running deployment instead of exiting 3; "
        "optionally give up after SECONDS.",
        metavar="[SECONDS]",
        is_flag=False,
        flag_value="forever",
    ),
]
DetachOpt = Annotated[bool, typer.Option("--detach", help="Print the deployment id and return.")]
IdArg = Annotated[str, typer.Argument(help="Deployment id (or a unique prefix of it).")]

EXIT_BY_STATUS = {"succeeded": 0, "awaiting_approval": 3, "queued": 3}


def _wait_seconds(wait: str | None) -> float | None:
    if wait is None:
        return None
    if wait == "forever":
        return WAIT_FOREVER
    try:
        seconds = float(wait)
    except ValueError:
        raise typer.BadParameter(f"--wait takes a number of seconds, not {wait!r}") from None
    if seconds < 0:
        raise typer.BadParameter("--wait takes a positive number of seconds")
    return seconds


def deploy(
    env: EnvOpt,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
    detach: DetachOpt = False,
    wait: WaitOpt = None,
    force: Annotated[
        bool, typer.Option("--force", help="Deploy a manifest that was rolled back from.")
    ] = False,
) -> None:
    """Run the pipeline for ENV: validate, provision, configure, scan, release, test, observe."""
    loaded = manifest(file)
    seconds = _wait_seconds(wait)
    with DeploymentClient(workspace(file, state)) as client:
        record = client.submit(loaded, env, force=force, wait=seconds)
        _after_submit(client, record, output, detach, seconds)


def _after_submit(
    client: DeploymentClient,
    record: DeploymentRecord,
    output: OutputFormat,
    detach: bool,
    wait: float | None,
) -> None:
    if detach:
        if output is OutputFormat.json:
            print_json({"deployment_id": record.id, "status": record.status})
        else:
            console.print(record.id, markup=False)
        return
    deadline = None if wait is None or wait >= WAIT_FOREVER else time.monotonic() + wait
    _follow(client, record, output, deadline)
    final = client.store.deployments.get(record.id)
    if final.status == "queued" and deadline is not None and time.monotonic() > deadline:
        if client.withdraw_queued(record.id, f"gave up waiting after {wait:g}s"):
            raise BlockedError(
                f"deployment {record.id} gave up after waiting {wait:g}s "
                "for the environment's lease"
            )
        _follow(client, record, output, None)
        final = client.store.deployments.get(record.id)
    if final.status == "cancelled" and wait is not None and WAIT_EXCEEDED in (final.error or ""):
        # The agent gave up for us (it saw the deadline pass before this CLI did).
        raise BlockedError(f"deployment {record.id} gave up: {final.error}")
    _report(client, final, output)


def _follow(
    client: DeploymentClient, record: DeploymentRecord, output: OutputFormat, deadline: float | None
) -> None:
    events = client.follow(record.id, deadline=deadline)
    if output is OutputFormat.json:
        for _ in events:
            pass
    elif sys.stdout.isatty():
        follow_live(record.id, Pipeline.from_dict(record.pipeline).stages(), events)
    else:
        print_events(events)


def _report(client: DeploymentClient, final: DeploymentRecord, output: OutputFormat) -> None:
    if output is OutputFormat.json:
        print_json(_deployment_json(client, final))
    elif final.status == "succeeded":
        console.print(f"deployment {final.id} {styled('succeeded')}")
        for line in _serving(client, final):
            console.print(line, markup=False)
    elif final.status == "awaiting_approval":
        err_console.print(
            f"deployment {final.id} is waiting for approval: shipway approve {final.id}",
            markup=False,
        )
    else:
        err_console.print(
            f"deployment {final.id} {final.status}: {final.error or ''}", markup=False
        )
    raise typer.Exit(EXIT_BY_STATUS.get(final.status, 1))


def _serving(client: DeploymentClient, record: DeploymentRecord) -> list[str]:
    """`api serves on http://...` lines from the release stage's outputs."""
    for run in client.store.stage_runs.list(record.id):
        if run.stage == "release" and run.status == "succeeded":
            release = run.outputs.get("release", "")
            urls = run.outputs.get("urls") or {}
            return [f"{name} serves on {url} ({release})" for name, url in sorted(urls.items())]
    return []


def _deployment_json(client: DeploymentClient, record: DeploymentRecord) -> dict[str, Any]:
    runs = client.store.stage_runs.list(record.id)
    release = next((r.outputs for r in runs if r.stage == "release" and r.outputs), {})
    return {
        "deployment_id": record.id,
        "project": record.project,
        "environment": record.environment,
        "kind": record.kind,
        "status": record.status,
        "error": record.error,
        "manifest_digest": record.manifest_digest,
        "user": record.user,
        "created_at": record.created_at,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "rollback_from": record.rollback_from,
        "release": release.get("release"),
        "urls": release.get("urls") or {},
        "stages": [
            {
                "stage": r.stage,
                "status": r.status,
                "attempts": r.attempts,
                "started_at": r.started_at,
                "finished_at": r.finished_at,
                "error": r.error,
            }
            for r in runs
        ],
    }


def status(
    deployment_id: Annotated[
        str | None, typer.Argument(help="A deployment id; default: the latest of each environment.")
    ] = None,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Show one deployment with its stages, or the latest deployment of each environment."""
    with DeploymentClient(workspace(file, state)) as client:
        if deployment_id is None:
            _status_overview(client, file, output)
            return
        record = client.store.deployments.get(deployment_id)
        data = _deployment_json(client, record)
        if output is OutputFormat.json:
            print_json(data)
            return
        console.print(
            f"[bold]{record.id}[/] {record.kind} of {record.project}/"
            f"{record.environment}: {styled(record.status)}"
        )
        console.print(
            f"manifest {record.manifest_digest[:19]}  by {record.user}  "
            f"queued {clock(record.created_at)}  took "
            f"{duration(record.started_at, record.finished_at)}",
            markup=False,
        )
        if record.error:
            console.print(f"error: {record.error}", markup=False)
        table = Table("stage", "status", "attempts", "time", "error")
        for run in client.store.stage_runs.list(record.id):
            table.add_row(
                run.stage,
                styled(run.status),
                str(run.attempts),
                duration(run.started_at, run.finished_at),
                run.error or "",
            )
        console.print(table)


def _status_overview(client: DeploymentClient, file: Any, output: OutputFormat) -> None:
    project = manifest(file).manifest.project
    recovered = recover_agent(client.ws, client.store)
    if recovered and output is OutputFormat.text:
        err_console.print(recovered, markup=False)
    latest: dict[str, DeploymentRecord] = {}
    for record in client.store.deployments.list(project=project, limit=500):
        latest.setdefault(record.environment, record)
    services = services_json(client.store, project)
    if output is OutputFormat.json:
        print_json(
            {
                "deployments": [_deployment_json(client, r) for r in latest.values()],
                "services": services,
                "agent_restarted": recovered is not None,
            }
        )
        return
    table = Table("environment", "deployment", "status", "when", "by")
    for envname, record in sorted(latest.items()):
        table.add_row(
            envname,
            record.id,
            styled(record.status),
            record.created_at.astimezone().strftime("%Y-%m-%d %H:%M"),
            record.user,
        )
    console.print(table)
    print_services(services)


def history(
    env: EnvOpt,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1)] = 20,
) -> None:
    """List the deployments of ENV, newest first."""
    project = manifest(file).manifest.project
    with DeploymentClient(workspace(file, state)) as client:
        records = client.store.deployments.list(project=project, environment=env, limit=limit)
        if output is OutputFormat.json:
            print_json([_deployment_json(client, r) for r in records])
            return
        table = Table("deployment", "kind", "status", "manifest", "when", "took", "by")
        for r in records:
            table.add_row(
                r.id,
                r.kind,
                styled(r.status),
                r.manifest_digest[7:19],
                r.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
                duration(r.started_at, r.finished_at),
                r.user,
            )
        console.print(table)


def events(
    deployment_id: IdArg,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
    follow: Annotated[bool, typer.Option("--follow", help="Keep printing until it ends.")] = False,
) -> None:
    """Print a deployment's event log, oldest first."""
    with DeploymentClient(workspace(file, state)) as client:
        record = client.store.deployments.get(deployment_id)
        stream = (
            client.follow(record.id, stop_on_approval=False)
            if follow
            else iter(client.store.events.read(0, deployment_id=record.id, limit=100_000))
        )
        if output is OutputFormat.json:
            for event in stream:
                print_json(
                    {
                        "id": event.id,
                        "deployment_id": event.deployment_id,
                        "correlation_id": event.correlation_id,
                        "type": event.type,
                        "stage": event.stage,
                        "message": event.message,
                        "data": event.data,
                        "created_at": event.created_at,
                    }
                )
            return
        print_events(stream)


def cancel(deployment_id: IdArg, file: FileOpt = DEFAULT_FILE, state: StateOpt = None) -> None:
    """Cancel a deployment: it stops at the next safe point and undoes what it did."""
    with DeploymentClient(workspace(file, state)) as client:
        record = client.cancel(deployment_id)
        console.print(
            f"cancel requested for {record.id}; follow with `shipway events {record.id} --follow`",
            markup=False,
        )


def approve(deployment_id: IdArg, file: FileOpt = DEFAULT_FILE, state: StateOpt = None) -> None:
    """Approve a deployment that waits before its release."""
    with DeploymentClient(workspace(file, state)) as client:
        record = client.approve(deployment_id)
        console.print(f"approved {record.id}", markup=False)


def resume(
    deployment_id: IdArg,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
    detach: DetachOpt = False,
) -> None:
    """Resume an interrupted deployment where it stopped."""
    with DeploymentClient(workspace(file, state)) as client:
        record = client.resume(deployment_id)
        _after_submit(client, record, output, detach, None)


def rollback(
    env: EnvOpt,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
    to: Annotated[
        str | None,
        typer.Option("--to", help="The release (`r3`, its id) or deployment to return to."),
    ] = None,
    detach: DetachOpt = False,
    wait: WaitOpt = None,
) -> None:
    """Return ENV to the release that served before the current one (or --to ID), by
    starting the kept release again: no rebuild."""
    loaded = manifest(file)
    seconds = _wait_seconds(wait)
    with DeploymentClient(workspace(file, state)) as client:
        record = client.rollback(loaded, env, to=to, wait=seconds)
        if output is OutputFormat.text:
            console.print(
                f"rolling {env} back with {record.id} (from {record.rollback_from})", markup=False
            )
        _after_submit(client, record, output, detach, seconds)


def register(app: typer.Typer) -> None:
    for command in (deploy, status, history, events, cancel, resume, rollback, approve):
        app.command()(command)
