"""`shipway validate -e ENV`: run the environment's requirements checks now, as the
pipeline's validate stage would, and print them. Exit 0 when no required check failed,
1 otherwise."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

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
from shipway.runtime.agent import running_agent

if TYPE_CHECKING:
    from shipway.validator import ValidationReport

STATUS_STYLE = {"pass": "green", "warn": "yellow", "fail": "red"}


def validate_command(
    env: EnvOpt,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Check ENV's requirements (hardware, software, network, security, capacity) now."""
    from shipway.validator import validate  # NOTE: asyncssh is slow to import; only here

    loaded = manifest(file)
    environment = resolve_environment(loaded, env)
    ws = workspace(file, state)
    agent = running_agent(ws)
    # A port held by this project's agent (its switching proxy) is the project's own.
    own = frozenset({agent.pid}) if agent is not None else frozenset[int]()
    report = asyncio.run(validate(loaded, environment, home=ws.home, own_pids=own))
    if output is OutputFormat.json:
        print_json({"project": loaded.manifest.project, "environment": env, **report.to_dict()})
    else:
        print_report(report, f"{loaded.manifest.project}/{env}")
    if not report.passed:
        raise typer.Exit(1)


def print_report(report: ValidationReport, title: str) -> None:
    columns = ["check", "expected", "observed", "status", "remedy"]
    if report.remote:
        columns.insert(0, "host")
    table = Table(*columns, title=f"requirements of {title}", title_justify="left")
    for result in report.results:
        # Text cells: values such as regular expressions must not be read as Rich markup.
        row = [
            Text(result.check),
            Text(result.expected),
            Text(result.observed),
            Text(result.status, style=STATUS_STYLE[result.status]),
            Text(result.remedy),
        ]
        if report.remote:
            row.insert(0, Text(result.host))
        table.add_row(*row)
    console.print(table)
    style = "green" if report.passed else "red"
    verdict = "ready" if report.passed else "not ready"
    console.print(Text(f"{verdict}: {report.summary()} in {report.seconds:.2f}s", style=style))


def register(app: typer.Typer) -> None:
    app.command("validate")(validate_command)
