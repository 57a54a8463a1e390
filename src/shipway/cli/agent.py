"""`shipway agent`: run, start, inspect and stop the local agent."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated

import typer

from shipway.cli.options import DEFAULT_FILE, FileOpt, OutputFormat, OutputOpt, StateOpt, workspace
from shipway.cli.output import console, print_json
from shipway.errors import InputError
from shipway.runtime.agent import Agent, ensure_agent, running_agent, stop_agent
from shipway.workspace import Workspace

agent_app = typer.Typer(
    help="The local agent that runs deployments on this host.", no_args_is_help=True
)


@agent_app.command("run")
def run(
    home: Annotated[Path | None, typer.Option(help="The .shipway folder to serve.")] = None,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
) -> None:
    """Run the agent in the foreground (what `start` runs in the background)."""
    ws = Workspace.at(home, state) if home is not None else workspace(file, state)
    Agent(ws).run()


@agent_app.command("start")
def start(
    file: FileOpt = DEFAULT_FILE, state: StateOpt = None, output: OutputOpt = OutputFormat.text
) -> None:
    """Start the agent in the background unless it is running."""
    info = ensure_agent(workspace(file, state))
    if output is OutputFormat.json:
        print_json(info.__dict__)
    else:
        console.print(f"agent running, pid {info.pid}, executor {info.executor_id}", markup=False)


@agent_app.command("status")
def status(
    file: FileOpt = DEFAULT_FILE, state: StateOpt = None, output: OutputOpt = OutputFormat.text
) -> None:
    """Say whether the agent runs; exit 1 when it does not."""
    info = running_agent(workspace(file, state))
    if output is OutputFormat.json:
        print_json(info.__dict__ if info else None)
    elif info is None:
        console.print("agent not running")
    else:
        console.print(
            f"agent running, pid {info.pid}, executor {info.executor_id}, "
            f"since {info.started_at}, version {info.version}, state {info.state}",
            markup=False,
        )
    if info is None:
        raise typer.Exit(1)


@agent_app.command("stop")
def stop(
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    keep_services: Annotated[
        bool,
        typer.Option(
            "--keep-services",
            help="Leave the services running (public ports close) for the next agent to "
            "adopt, e.g. to upgrade shipway.",
        ),
    ] = False,
) -> None:
    """Stop the agent and the services it supervises; running deployments continue and
    active releases start again when the agent starts again."""
    info = stop_agent(workspace(file, state), keep_services=keep_services)
    if info is None:
        console.print("agent not running")
    else:
        kept = ", services left running" if keep_services else ""
        console.print(f"agent (pid {info.pid}) stopped{kept}", markup=False)


def worker(
    state: Annotated[
        str,
        typer.Option(
            "--state",
            envvar="SHIPWAY_STATE_URL",
            help="The shared PostgreSQL state store (postgresql://...).",
        ),
    ],
    worker_id: Annotated[
        str | None,
        typer.Option(
            "--id",
            help="Executor id; restart a dead worker with the "
            "same id to resume its deployments. Default: worker-HOST.",
        ),
    ] = None,
    home: Annotated[Path, typer.Option(help="Folder for this worker's lock and logs.")] = Path(
        ".shipway"
    ),
) -> None:
    """Run deployments queued in a shared PostgreSQL state store (team mode)."""
    ws = Workspace.at(home, state)
    if not ws.is_postgres:
        raise InputError(
            "a worker needs a PostgreSQL state store shared with the CLI; "
            "with the embedded SQLite state the agent runs deployments"
        )
    Agent(ws, worker_id=worker_id or f"worker-{socket.gethostname()}").run()
