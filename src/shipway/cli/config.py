"""`shipway config`: render an environment's configuration (with `--explain KEY`), and
work on its versions: get, set, diff, history, rollback.

Secret values never appear: a value that holds a secret prints as its `${secret:NAME}`
reference.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
import yaml
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
from shipway.config.history import ConfigHistory
from shipway.config.live import reload_running, render_running_files, write_service_files
from shipway.config.manager import ConfigurationManager, Explanation
from shipway.config.origins import parse_key
from shipway.config.versions import Change, ConfigVersion, diff, short
from shipway.manifest import resolve_environment
from shipway.orchestrator.client import current_user
from shipway.store import Store
from shipway.workspace import Workspace

config_app = typer.Typer(
    help="Render an environment's configuration and work on its versions.",
    no_args_is_help=True,
)

SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a key for this command: key=value (repeatable)."),
]
VersionArg = Annotated[
    str | None, typer.Argument(help="A version id or a unique prefix (6+ hex digits).")
]


def _manager(file: Any, env: str, state: str | None) -> tuple[ConfigurationManager, Workspace]:
    loaded = manifest(file)
    environment = resolve_environment(loaded, env)
    ws = workspace(file, state)
    return ConfigurationManager(loaded, environment, ws.home), ws


def _open_store(ws: Workspace, *, create: bool) -> Store | None:
    """The state store; None when it does not exist yet and `create` is False."""
    if not create and not ws.is_postgres and not (ws.home / "state.db").exists():
        return None
    return Store.open(ws.state_url)


@config_app.command("render")
def render(
    env: EnvOpt,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
    set_: SetOpt = None,
    explain: Annotated[
        str | None, typer.Option("--explain", help="Say which layer (file:line) KEY came from.")
    ] = None,
) -> None:
    """Print ENV's merged configuration as the next deployment would apply it."""
    manager, ws = _manager(file, env, state)
    overrides: dict[str, Any] = {}
    resources: dict[str, dict[str, Any]] | None = None
    store = _open_store(ws, create=False)
    if store is not None:
        with store:
            current = store.config.current(manager.project, env)
            overrides = dict(current.overrides) if current else {}
            # `${resources.NAME.ATTR}` from the recorded outputs, once there are any.
            resources = store.resources.outputs(manager.project, env) or None
    resolution = manager.resolve(sets=set_ or [], overrides=overrides, resources=resources)
    if explain is not None:
        explanations = resolution.explain(explain)
        if output is OutputFormat.json:
            print_json([e.to_dict() for e in explanations])
        else:
            for item in explanations:
                _print_explanation(item)
        return
    resolved = resolution.resolved
    if output is OutputFormat.json:
        print_json(
            {
                "project": manager.project,
                "environment": env,
                "values": resolved.values,
                "secrets": resolved.secret_names,
                "layers": [layer.name for layer in resolution.stack.layers],
            }
        )
        return
    console.print(Text(_yaml(resolved.values)), end="")


def _print_explanation(item: Explanation) -> None:
    console.print(Text(f"{item.key} = {_scalar(item.value)}", style="bold"))
    console.print(Text(f"  from {item.origin}"))
    if item.written is not None:
        console.print(Text(f"  written as {item.written}"))
    if item.secrets:
        console.print(Text(f"  secret reference: {', '.join(item.secrets)} (value never shown)"))
    for contribution in item.contributions[:-1][::-1]:
        if contribution.deleted:
            console.print(Text(f"  deleted at {contribution.origin}"))
        else:
            console.print(
                Text(f"  overrides {contribution.origin} ({_scalar(contribution.value)})")
            )


def _scalar(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value


def _yaml(values: Any) -> str:
    if not values:
        return "{}\n"
    return str(yaml.safe_dump(values, sort_keys=False, allow_unicode=True, width=100))


@config_app.command("get")
def get(
    env: EnvOpt,
    key: Annotated[str | None, typer.Argument(help="Dotted key; all keys when omitted.")] = None,
    version: Annotated[
        str | None, typer.Option("--version", help="Read this version, not the current one.")
    ] = None,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Print a key of ENV's current configuration version (or of --version)."""
    project = manifest(file).manifest.project
    with Store.open(workspace(file, state).state_url) as store:
        found = ConfigHistory(store, project, env).version(version)
    value: Any = found.values
    if key is not None:
        value = _lookup(found, key)
    if output is OutputFormat.json:
        print_json({"version": found.id, "key": key, "value": value})
    elif isinstance(value, dict | list):
        console.print(Text(_yaml(value)), end="")
    else:
        console.print(Text(_scalar(value)))


def _lookup(version: ConfigVersion, key: str) -> Any:
    from shipway.errors import NotFoundError

    node: Any = version.values
    for part in parse_key(key, "KEY"):
        if isinstance(node, list) and str(part).isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise NotFoundError(f"no key {key!r} in configuration version {short(version.id)}")
    return node


@config_app.command("set")
def set_(
    env: EnvOpt,
    pairs: Annotated[
        list[str] | None, typer.Argument(help="key=value pairs; `key=null` deletes the key.")
    ] = None,
    remove: Annotated[
        list[str] | None, typer.Option("--remove", help="Drop an earlier override (repeatable).")
    ] = None,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Override keys of ENV's configuration and store the result as its current version.
    Overrides stay until removed; the next release (or deployment) delivers them."""
    if not pairs and not remove:
        raise typer.BadParameter("give key=value pairs or --remove KEY")
    manager, ws = _manager(file, env, state)
    with Store.open(ws.state_url) as store:
        history = ConfigHistory(store, manager.project, env)
        record, version = history.set(manager, pairs or [], remove or [], current_user())
    if output is OutputFormat.json:
        print_json({"version": version.id, "overrides": record.overrides, "history": record.id})
    else:
        console.print(
            f"{manager.project}/{env}: config {version.short} is current ({record.message})"
        )


@config_app.command("diff")
def diff_command(
    env: EnvOpt,
    old: VersionArg = None,
    new: VersionArg = None,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Compare configuration versions. No version: the current one against what the
    layers give now. One: that version against the current one. Two: OLD against NEW."""
    manager, ws = _manager(file, env, state)
    with Store.open(ws.state_url) as store:
        history = ConfigHistory(store, manager.project, env)
        current = history.current()
        if old is None:
            before = history.load(current.version) if current and current.version else None
            overrides = dict(current.overrides) if current else {}
            after: ConfigVersion | None = manager.resolve(overrides=overrides).version()
            labels = (short(before.id if before else None), "layers now")
        else:
            before = history.version(old)
            after = history.version(new)
            labels = (before.short, after.short)
    changes = diff(before, after)
    if output is OutputFormat.json:
        print_json({"from": labels[0], "to": labels[1], "changes": [c.to_dict() for c in changes]})
        return
    _print_changes(changes, labels)


def _print_changes(changes: list[Change], labels: tuple[str, str]) -> None:
    console.print(f"--- {labels[0]}\n+++ {labels[1]}", markup=False)
    if not changes:
        console.print("no differences", markup=False)
    for change in changes:
        if change.kind in ("removed", "changed"):
            console.print(Text(f"- {change.key}: {_scalar(change.old)}", style="red"))
        if change.kind in ("added", "changed"):
            console.print(Text(f"+ {change.key}: {_scalar(change.new)}", style="green"))


@config_app.command("history")
def history_command(
    env: EnvOpt,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many entries.")] = 20,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """List the configuration versions ENV had, newest first."""
    project = manifest(file).manifest.project
    with Store.open(workspace(file, state).state_url) as store:
        entries = ConfigHistory(store, project, env).entries(limit)
    if output is OutputFormat.json:
        print_json(
            [
                {
                    "id": e.id,
                    "version": e.version,
                    "action": e.action,
                    "deployment_id": e.deployment_id,
                    "user": e.user,
                    "message": e.message,
                    "overrides": e.overrides,
                    "created_at": e.created_at,
                }
                for e in entries
            ]
        )
        return
    if not entries:
        console.print(f"{project}/{env} has no configuration history yet", markup=False)
        return
    table = Table("#", "when", "version", "action", "deployment", "by", "message")
    for i, e in enumerate(entries):
        table.add_row(
            str(e.id),
            e.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            Text(short(e.version) + (" (current)" if i == 0 else "")),
            e.action,
            e.deployment_id or "-",
            Text(e.user),
            Text(e.message),
        )
    console.print(table)


@config_app.command("rollback")
def rollback(
    env: EnvOpt,
    to: Annotated[
        str | None, typer.Option("--to", help="Version id or prefix; default: the previous one.")
    ] = None,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Make an earlier configuration version ENV's current one (with the overrides it had).
    The next release delivers it; `shipway rollback` rolls the application back with it."""
    project = manifest(file).manifest.project
    with Store.open(workspace(file, state).state_url) as store:
        record, version = ConfigHistory(store, project, env).rollback(to, current_user())
    if output is OutputFormat.json:
        print_json({"version": version.id, "history": record.id, "message": record.message})
    else:
        console.print(f"{project}/{env}: config {version.short} is current ({record.message})")


@config_app.command("apply")
def apply(
    env: EnvOpt,
    live: Annotated[
        bool, typer.Option("--live", help="Push to running services without a new release.")
    ] = False,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Resolve ENV's layers now, record the result as a version and push it to the running
    services: each gets its config file rewritten and reloads as `config.reload` says."""
    if not live:
        raise typer.BadParameter(
            "a deployment applies configuration (shipway deploy); --live pushes it to the "
            "running services without one"
        )
    manager, ws = _manager(file, env, state)
    with Store.open(ws.state_url) as store:
        record, version = ConfigHistory(store, manager.project, env).apply_live(
            manager, current_user()
        )
        write_service_files(ws.home, env, manager.environment.services, version)
        render_running_files(
            store, ws.home / "run", manager.project, env, version, manager.backend()
        )
        reloads = reload_running(store, manager.project, env, dict(manager.spec.reload))
    if output is OutputFormat.json:
        print_json(
            {"version": version.id, "history": record.id, "reloads": [r.to_dict() for r in reloads]}
        )
    else:
        console.print(f"{manager.project}/{env}: config {version.short} is current (live)")
        for item in reloads:
            state = "reloaded" if item.ok else "not reloaded"
            detail = f" ({item.detail})" if item.detail else ""
            console.print(
                Text(f"  {item.service} pid {item.pid}: {item.how} {state}{detail}"),
                style="green" if item.ok else "yellow",
            )
        if not reloads:
            console.print("  no running service: the next release starts with it", markup=False)
    if any(not item.ok for item in reloads):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
