"""`shipway test -e ENV`: run the environment's tests now against its active release, as
the pipeline's test stage would, and print the results. Exit 0 when every test passed,
1 otherwise; `--junit PATH` also writes JUnit XML."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
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
from shipway.errors import InputError
from shipway.manifest import LoadedManifest, ResolvedEnvironment, resolve_environment
from shipway.runtime.release import ServiceRelease
from shipway.store import Store
from shipway.tester import (
    CaseResult,
    Observer,
    RunReport,
    build_target,
    run_tests_sync,
    selected_kinds,
    write_junit,
)
from shipway.workspace import Workspace

STATUS_STYLE = {"passed": "green", "failed": "red", "error": "red", "skipped": "dim"}
KindOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--kind",
        "-k",
        help="Run only this kind: api, contract, e2e, load or services (repeatable).",
    ),
]
JunitOpt = Annotated[
    Path | None, typer.Option("--junit", help="Also write the results as JUnit XML here.")
]
UrlOpt = Annotated[
    str | None,
    typer.Option("--url", help="Test this base URL instead of the active release's."),
]


class _LiveObserver(Observer):
    """One line per finished case, and a progress bar while the load test runs."""

    def __init__(self) -> None:
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._lock = threading.Lock()

    def case_finished(self, case: CaseResult) -> None:
        line = Text(f"{case.status:>7} ", style=STATUS_STYLE[case.status])
        line += Text(f"{case.suite} {case.name}")
        if case.message:
            line += Text(f": {case.message}", style="dim" if case.ok else "red")
        console.print(line)

    def progress(self, kind: str, data: dict[str, Any]) -> None:
        if kind != "load":
            return
        with self._lock:
            if self._bar is None:
                self._bar = Progress(
                    TextColumn("load"),
                    BarColumn(),
                    TextColumn("{task.description}"),
                    TimeElapsedColumn(),
                    console=console,
                    transient=True,
                )
                self._bar.start()
                self._task = self._bar.add_task("", total=float(data["duration"]))
            assert self._task is not None
            self._bar.update(
                self._task,
                completed=min(float(data["elapsed"]), float(data["duration"])),
                description=(
                    f"{data['rate']:.0f} req/s  p50 {data['p50_ms']:.1f}ms  "
                    f"p95 {data['p95_ms']:.1f}ms  p99 {data['p99_ms']:.1f}ms  "
                    f"errors {data['errors']}"
                ),
            )

    def close(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.stop()
                self._bar = None


def test_command(
    env: EnvOpt,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
    kind: KindOpt = None,
    junit: JunitOpt = None,
    url: UrlOpt = None,
) -> None:
    """Run ENV's tests (api, contract, e2e, load, services) against its active release."""
    loaded = manifest(file)
    environment = resolve_environment(loaded, env)
    kinds = selected_kinds(environment.tests, kind)
    if not kinds:
        raise InputError(f"{file} has no tests for {env}: add a `tests:` section")
    ws = workspace(file, state)
    base_url = url or _active_url(ws, loaded, environment)
    with Store.open(ws.state_url) as store:
        # `${resources.NAME.ATTR}` in tests reads what the provisioner recorded last.
        resources = store.resources.outputs(loaded.manifest.project, env)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    root = ws.home / "artifacts" / f"test-{env}-{stamp}" / "tests"
    observer = _LiveObserver() if output is OutputFormat.text else Observer()
    target = build_target(
        loaded,
        environment,
        base_url=base_url,
        artifacts_dir=root,
        cache_dir=ws.home / "cache" / "tester",
        resources=resources,
        observer=observer,
    )
    try:
        report = run_tests_sync(environment.tests, target, kinds)
    finally:
        if isinstance(observer, _LiveObserver):
            observer.close()
    root.mkdir(parents=True, exist_ok=True)
    write_junit(report, root / "junit.xml")
    (root / "report.json").write_text(json.dumps(report.to_dict(), indent=2, default=str))
    if junit is not None:
        write_junit(report, junit)
    if output is OutputFormat.json:
        print_json({"project": loaded.manifest.project, "environment": env, **report.to_dict()})
    else:
        print_summary(report, f"{loaded.manifest.project}/{env}")
    if not report.passed:
        raise typer.Exit(1)


def _active_url(
    ws: Workspace, loaded: LoadedManifest, environment: ResolvedEnvironment
) -> str | None:
    service = environment.tested_service
    if service is None:
        return None
    project = loaded.manifest.project
    with Store.open(ws.state_url) as store:
        active = store.releases.active(project, environment.name)
    if active is None:
        raise InputError(
            f"{project}/{environment.name} has no active release to test: deploy it first "
            f"(shipway deploy -e {environment.name}), or pass --url"
        )
    data = active.services.get(service)
    found = ServiceRelease.from_dict(data).public_url if data is not None else None
    if found is None:
        raise InputError(f"release {active.id} has no public URL for service {service!r}")
    return found


def print_summary(report: RunReport, title: str) -> None:
    table = Table("kind", "passed", "failed", "error", "skipped", "time", title=f"tests of {title}")
    table.title_justify = "left"
    for kind in report.kinds:
        counts = kind.counts()
        table.add_row(
            kind.kind,
            str(counts["passed"]),
            Text(str(counts["failed"]), style="red" if counts["failed"] else ""),
            Text(str(counts["error"]), style="red" if counts["error"] else ""),
            str(counts["skipped"]),
            f"{kind.seconds:.1f}s",
        )
    console.print(table)
    for case in report.failures:
        console.print(Text(f"{case.status}: {case.suite} {case.name}", style="red bold"))
        console.print(Text(case.details or case.message))
        for path in case.artifacts:
            console.print(Text(f"  kept {path}", style="dim"))
    verdict = "passed" if report.passed else "failed"
    style = "green" if report.passed else "red"
    console.print(Text(f"{verdict}: {report.summary()} against {report.target}", style=style))
    if report.artifacts_dir:
        console.print(Text(f"results in {report.artifacts_dir}", style="dim"))


def register(app: typer.Typer) -> None:
    app.command("test")(test_command)
