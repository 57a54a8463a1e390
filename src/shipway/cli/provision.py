"""`shipway provision`: plan, apply, destroy, drift, import and rotate an environment's
resources (the `resources:` section), with state in the state store.

Apply and destroy show the plan and ask before acting, unless `--yes`; without a terminal
to ask on and without `--yes` they refuse (exit 2). A saved plan (`plan --out FILE`) is
applied exactly, without asking, and refused if the state or the world changed since.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
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
from shipway.cli.output import console, err_console, print_json
from shipway.errors import InputError
from shipway.manifest import resolve_environment
from shipway.orchestrator.pipeline import load_stage_plugins
from shipway.provisioner.apply import ApplyResult, Progress
from shipway.provisioner.engine import Provisioner
from shipway.provisioner.errors import ProvisionError
from shipway.provisioner.lock import environment_lock
from shipway.provisioner.plan import Plan
from shipway.provisioner.render import (
    apply_summary,
    drift_lines,
    outputs_lines,
    plan_lines,
)
from shipway.provisioner.session import DEFAULT_PARALLELISM
from shipway.store import Store

provision_app = typer.Typer(
    help="Plan, apply, destroy, check and adopt the resources of an environment.",
    no_args_is_help=True,
)

YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
ParallelismOpt = Annotated[
    int, typer.Option("--parallelism", help="Provider calls in flight at once.", min=1)
]
_VERBS = {
    "create": ("creating", "created"),
    "update": ("updating", "updated"),
    "replace": ("replacing", "replaced"),
    "delete": ("destroying", "destroyed"),
    "import": ("recording", "recorded"),
    "no-op": ("refreshing", "refreshed"),
}


@contextmanager
def _provisioner(
    file: Path,
    env: str,
    state: str | None,
    parallelism: int = DEFAULT_PARALLELISM,
    *,
    lock: bool = False,
) -> Iterator[Provisioner]:
    """A provisioner for ENV; with `lock`, holding the environment's lease (exit 3 while
    a deployment holds it)."""
    loaded = manifest(file)
    environment = resolve_environment(loaded, env)
    # Plugins named in `pipeline.plugins` may register providers of their own.
    load_stage_plugins(loaded)
    ws = workspace(file, state)
    with Store.open(ws.state_url) as store:
        provisioner = Provisioner.open(loaded, environment, store, ws.home, parallelism=parallelism)
        if not lock:
            yield provisioner
            return
        with environment_lock(store, loaded.manifest.project, env):
            yield provisioner


def _print(lines: list[str]) -> None:
    for line in lines:
        console.print(Text(line))


def _confirm(what: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise InputError(f"refusing to {what} without confirmation: pass --yes (no terminal)")
    if not typer.confirm(f"Do you want to {what}?", default=False):
        console.print("Cancelled; nothing was changed.", markup=False)
        raise typer.Exit(1)


def _observer(output: OutputFormat) -> Any:
    def show(progress: Progress) -> None:
        if output is OutputFormat.json:
            return
        doing, did = _VERBS.get(progress.action, (progress.action, progress.action))
        if progress.status == "started":
            console.print(Text(f"{progress.name}: {doing}..."))
        elif progress.status == "done":
            console.print(Text(f"{progress.name}: {did} after {progress.seconds:.1f}s"))
        else:
            err_console.print(Text(f"{progress.name}: {doing} failed: {progress.error}"))

    return show


def _run(provisioner: Provisioner, plan: Plan, output: OutputFormat) -> ApplyResult:
    try:
        result = provisioner.apply(plan, _observer(output))
    except KeyboardInterrupt:
        err_console.print(
            "interrupted: the calls in flight finished and were recorded; "
            "run apply again to finish",
            markup=False,
        )
        raise typer.Exit(130) from None
    outputs = provisioner.outputs()
    if output is OutputFormat.json:
        print_json(
            {
                "ok": result.ok,
                "plan": plan.to_dict(),
                "done": [{"name": c.name, "action": c.action} for c in result.done],
                "failed": result.failed,
                "skipped": result.skipped,
                "outputs": outputs,
            }
        )
    else:
        console.print(Text(apply_summary(result)))
        if outputs and result.ok and not plan.destroy:
            _print(["", "Outputs:", *outputs_lines(outputs)])
    if not result.ok:
        raise ProvisionError(result.error_message())
    return result


@provision_app.command("plan")
def plan_command(
    env: EnvOpt,
    out: Annotated[
        Path | None, typer.Option("--out", help="Save the plan as JSON, for apply --plan-file.")
    ] = None,
    destroy: Annotated[bool, typer.Option("--destroy", help="Plan removing everything.")] = False,
    parallelism: ParallelismOpt = DEFAULT_PARALLELISM,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Show what apply would change: read every resource, compare with the manifest."""
    with _provisioner(file, env, state, parallelism) as provisioner:
        plan = provisioner.plan(destroy=destroy)
    if out is not None:
        plan.save(out)
    if output is OutputFormat.json:
        print_json(plan.to_dict())
        return
    _print(plan_lines(plan))
    if out is not None:
        console.print(Text(f"\nSaved the plan to {out}: shipway provision apply --plan-file {out}"))


@provision_app.command("apply")
def apply_command(
    env: EnvOpt,
    yes: YesOpt = False,
    plan_file: Annotated[
        Path | None, typer.Option("--plan-file", help="Apply exactly this saved plan.")
    ] = None,
    parallelism: ParallelismOpt = DEFAULT_PARALLELISM,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Create, change and remove resources so that they match the manifest."""
    with _provisioner(file, env, state, parallelism, lock=True) as provisioner:
        if plan_file is not None:
            plan = Plan.load(plan_file)
            provisioner.check(plan)
        else:
            plan = provisioner.plan()
        if output is OutputFormat.text:
            _print(plan_lines(plan))
        if plan_file is None and not plan.empty:
            console.print()
            _confirm("apply these changes", yes)
        _run(provisioner, plan, output)


@provision_app.command("destroy")
def destroy_command(
    env: EnvOpt,
    yes: YesOpt = False,
    parallelism: ParallelismOpt = DEFAULT_PARALLELISM,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Remove every resource the environment owns (refused when one has prevent_destroy)."""
    with _provisioner(file, env, state, parallelism, lock=True) as provisioner:
        plan = provisioner.plan(destroy=True)
        if output is OutputFormat.text:
            _print(plan_lines(plan))
        if not plan.empty:
            console.print()
            _confirm(f"destroy every resource of {env}", yes)
        _run(provisioner, plan, output)


@provision_app.command("drift")
def drift_command(
    env: EnvOpt,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Compare the recorded state with the world; exit 1 when something changed outside."""
    with _provisioner(file, env, state) as provisioner:
        drifts = provisioner.drift()
    if output is OutputFormat.json:
        print_json([d.to_dict() for d in drifts])
    else:
        _print(drift_lines(drifts))
    if any(d.status != "in-sync" for d in drifts):
        raise typer.Exit(1)


@provision_app.command("import")
def import_command(
    env: EnvOpt,
    address: Annotated[str, typer.Argument(help="TYPE.NAME of a resource in the manifest.")],
    resource_id: Annotated[str, typer.Argument(help="The existing resource's id.")],
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Adopt an existing resource: record it as manifest resource NAME."""
    with _provisioner(file, env, state, lock=True) as provisioner:
        record = provisioner.import_resource(address, resource_id)
    if output is OutputFormat.json:
        print_json(
            {"name": record.name, "resource_id": record.resource_id, "outputs": record.outputs}
        )
        return
    console.print(Text(f"Imported {address} ({record.resource_id}); shipway now manages it."))
    _print(outputs_lines({record.name: record.outputs}))


@provision_app.command("rotate")
def rotate_command(
    env: EnvOpt,
    name: Annotated[str, typer.Argument(help="The resource whose credentials to replace.")],
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Replace a resource's generated credentials; services get them at their next start."""
    with _provisioner(file, env, state, lock=True) as provisioner:
        record = provisioner.rotate(name)
    if output is OutputFormat.json:
        print_json({"name": record.name, "serial": record.serial, "outputs": record.outputs})
        return
    console.print(Text(f"Rotated the credentials of {name}."))
    _print(outputs_lines({record.name: record.outputs}))


def register(app: typer.Typer) -> None:
    app.add_typer(provision_app, name="provision")
