"""Commands about the manifest itself: init, schema, plan."""

from __future__ import annotations

import json
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
from shipway.cli.output import console, print_json, styled
from shipway.errors import InputError
from shipway.manifest import STARTER_MANIFEST, manifest_json_schema, resolve_environment
from shipway.orchestrator.names import lease_key
from shipway.orchestrator.pipeline import build_pipeline
from shipway.orchestrator.stages.registry import registry
from shipway.store import Store


def init(
    file: FileOpt = DEFAULT_FILE,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter shipway.yaml."""
    if file.exists() and not force:
        raise InputError(f"{file} already exists; use --force to overwrite it")
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(STARTER_MANIFEST)
    console.print(f"wrote {file}; next: shipway plan -e dev", markup=False)


def schema() -> None:
    """Print the manifest's JSON Schema (draft 2020-12)."""
    typer.echo(json.dumps(manifest_json_schema(), indent=2))


def plan(
    env: EnvOpt,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Show what `shipway deploy -e ENV` would do, stage by stage."""
    loaded = manifest(file)
    environment = resolve_environment(loaded, env)
    pipeline = build_pipeline(loaded, environment)
    stages: list[dict[str, Any]] = []
    for index, group in enumerate(pipeline.groups):
        for name in group:
            stage_cls = registry.get(name)
            entry: dict[str, Any] = {
                "stage": name,
                "group": index + 1,
                "parallel": len(group) > 1,
                "timeout": pipeline.policies[name].timeout,
                "retries": pipeline.policies[name].retries,
            }
            if stage_cls is None:
                entry.update(
                    action="skip",
                    actions=[],
                    reason=f"no '{name}' component is installed in this version",
                )
            elif not stage_cls().configured(environment):
                entry.update(action="skip", actions=[], reason="not configured in the manifest")
            else:
                entry.update(action="run", actions=stage_cls().describe(environment), reason="")
            entry["approval_before"] = index == pipeline.approval_group
            stages.append(entry)
    data = {
        "project": loaded.manifest.project,
        "environment": env,
        "digest": loaded.digest,
        "extends": environment.chain,
        "stages": stages,
        **_lock_state(loaded, env, file, state),
    }
    if output is OutputFormat.json:
        print_json(data)
        return
    _print_plan(data)


def _lock_state(loaded: Any, env: str, file: Any, state: str | None) -> dict[str, Any]:
    ws = workspace(file, state)
    if not ws.is_postgres and not (ws.home / "state.db").exists():
        return {"lease_holder": None, "blocked": None}
    store = Store.open(ws.state_url)
    try:
        key = lease_key(loaded.manifest.project, env)
        lease = store.leases.get(key)
        block = store.environments.blocked(key)
        blocked = block.reason if block is not None and block.digest == loaded.digest else None
        return {"lease_holder": lease.holder if lease else None, "blocked": blocked}
    finally:
        store.close()


def _print_plan(data: dict[str, Any]) -> None:
    console.print(
        f"[bold]plan[/] for {data['project']}/{data['environment']} "
        f"(manifest {data['digest'][:19]}, extends {' -> '.join(data['extends'])})"
    )
    table = Table("#", "stage", "action", "details")
    for stage in data["stages"]:
        details = "; ".join(stage["actions"]) or stage["reason"]
        if stage["approval_before"]:
            details = "waits for `shipway approve` first; " + details
        action = "[green]run[/]" if stage["action"] == "run" else styled("skipped")
        table.add_row(
            str(stage["group"]) + (" ∥" if stage["parallel"] else ""),
            stage["stage"],
            action,
            details,
        )
    console.print(table)
    if data["lease_holder"]:
        console.print(
            f"[yellow]deployment {data['lease_holder']} holds the environment now: "
            "deploy would exit 3 (or queue with --wait)[/]"
        )
    if data["blocked"]:
        console.print(f"[yellow]this manifest was {data['blocked']}: deploy needs --force[/]")


def register(app: typer.Typer) -> None:
    for command in (init, schema, plan):
        app.command()(command)
