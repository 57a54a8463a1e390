"""`shipway releases` and the services part of `shipway status`: what each environment
serves, from which release, and how its processes are doing."""

from __future__ import annotations

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
from shipway.cli.output import console, err_console, print_json, styled
from shipway.runtime.agent import running_agent, start_agent
from shipway.runtime.release import ServiceRelease
from shipway.store import Store
from shipway.store.records import ReleaseRecord
from shipway.workspace import Workspace


def releases(
    env: EnvOpt,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
    all_: Annotated[
        bool, typer.Option("--all", help="Include pruned and failed releases.")
    ] = False,
) -> None:
    """List the releases of ENV, newest first: the active one and those kept for rollback."""
    project = manifest(file).manifest.project
    ws = workspace(file, state)
    with Store.open(ws.state_url) as store:
        found = store.releases.list(project, env)
        if not all_:
            found = [r for r in found if r.status in {"active", "standby", "staged"}]
        if output is OutputFormat.json:
            print_json([release_json(r) for r in found])
            return
        if not found:
            console.print(f"{project}/{env} has no releases yet")
            return
        table = Table("release", "status", "created", "deployment", "manifest", "artifact")
        for r in found:
            table.add_row(
                r.id,
                styled(r.status),
                r.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
                r.deployment_id,
                r.manifest_digest[7:19],
                r.artifact_digest[7:19],
            )
        console.print(table)


def release_json(release: ReleaseRecord) -> dict[str, Any]:
    return {
        "id": release.id,
        "number": release.number,
        "status": release.status,
        "deployment_id": release.deployment_id,
        "manifest_digest": release.manifest_digest,
        "config_version": release.config_version,
        "artifact_digest": release.artifact_digest,
        "created_at": release.created_at,
        "activated_at": release.activated_at,
        "error": release.error,
        "services": sorted(release.services),
    }


def recover_agent(ws: Workspace, store: Store) -> str | None:
    """Start the agent again when releases it should serve have no agent: it adopts their
    processes and reopens their public ports. A note to print, or None."""
    if running_agent(ws) is not None:
        return None
    active = store.releases.list(statuses=["active"], executor_id=ws.executor_id)
    if not active:
        return None
    info = start_agent(ws)
    return (
        f"the agent was not running: started it again (pid {info.pid}) to serve "
        f"{len(active)} active release(s)"
    )


def services_json(store: Store, project: str) -> list[dict[str, Any]]:
    processes = {p.release_id + "/" + p.service: p for p in store.processes.list(project=project)}
    rows = []
    for release in store.releases.list(project, statuses=["active"]):
        for name, data in sorted(release.services.items()):
            service = ServiceRelease.from_dict(data)
            process = processes.get(f"{release.id}/{name}")
            rows.append(
                {
                    "environment": release.environment,
                    "service": name,
                    "release": release.id,
                    "url": service.public_url,
                    "state": process.state if process else "not running",
                    "pid": process.pid if process else None,
                    "restarts": process.restarts if process else 0,
                    "last_exit": process.last_exit if process else None,
                }
            )
    return rows


def print_services(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = Table(
        "environment", "service", "release", "state", "pid", "restarts", "url", "last exit"
    )
    for row in rows:
        table.add_row(
            row["environment"],
            row["service"],
            row["release"],
            styled(row["state"]),
            str(row["pid"] or "-"),
            str(row["restarts"]),
            row["url"] or "-",
            row["last_exit"] or "",
        )
    console.print(table)
    for row in rows:
        if row["state"] == "crash_loop":
            err_console.print(
                f"{row['environment']}/{row['service']} is crash-looping: {row['last_exit']}; "
                "see its log under .shipway/logs/",
                markup=False,
            )


def register(app: typer.Typer) -> None:
    app.command()(releases)
