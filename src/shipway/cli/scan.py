"""`shipway scan [PATH]`: run the security scanners over a folder and print the findings
grouped by severity (a table, JSON, SARIF or one HTML page); optionally a CycloneDX SBOM
(`--sbom`), control coverage (`--compliance`) and a baseline (`--baseline write|use`).
With `-e ENV`, the environment's recorded resources and released services (from the
state store) are scanned too. Exits 1 when a new finding reaches the threshold
(`security.fail_on`, or `--fail-on`)."""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from shipway.cli.options import OutputFormat
from shipway.cli.output import console, err_console
from shipway.errors import InputError

if TYPE_CHECKING:
    from shipway.manifest import LoadedManifest
    from shipway.scanner import ScanReport, ScanSettings
    from shipway.scanner.baseline import Baseline
    from shipway.scanner.inputs import DeployedState


class ScanFormat(enum.StrEnum):
    table = "table"
    json = "json"
    sarif = "sarif"
    html = "html"


class BaselineMode(enum.StrEnum):
    write = "write"
    use = "use"


_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


def scan(
    path: Annotated[
        Path | None,
        typer.Argument(help="Folder to scan; default: the manifest's folder, else `.`."),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", "-f", help="Manifest with the `security:` policy; default: PATH/shipway.yaml."
        ),
    ] = None,
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            "-e",
            help="Use this environment's `security:`, and scan what the store records for it.",
        ),
    ] = None,
    output_format: Annotated[
        ScanFormat,
        typer.Option("--format", help="table for people; json; sarif (2.1.0); html (one page)."),
    ] = ScanFormat.table,
    output: Annotated[
        OutputFormat | None, typer.Option("--output", "-o", help="json is --format json.")
    ] = None,
    fail_on: Annotated[
        str | None, typer.Option("--fail-on", help="critical, high, medium or low.")
    ] = None,
    vulnerability_db: Annotated[
        str | None,
        typer.Option(
            "--vulnerability-db", help="`osv` (the API), an OSV API URL, or an export path."
        ),
    ] = None,
    scanners: Annotated[
        list[str] | None,
        typer.Option("--scanner", help="Run only this scanner (repeatable)."),
    ] = None,
    sbom: Annotated[
        Path | None,
        typer.Option("--sbom", help="Also write a CycloneDX 1.6 JSON SBOM of the dependencies."),
    ] = None,
    compliance: Annotated[
        list[str] | None,
        typer.Option("--compliance", help="Control coverage of soc2, hipaa or gdpr (repeatable)."),
    ] = None,
    baseline: Annotated[
        BaselineMode | None,
        typer.Option(
            "--baseline",
            help="write: record today's findings; use: report (and gate on) new ones only.",
        ),
    ] = None,
    baseline_file: Annotated[
        Path | None,
        typer.Option(
            "--baseline-file",
            help="Baseline file; default: security.baseline, else PATH/.shipway-baseline.json.",
        ),
    ] = None,
    state: Annotated[
        str | None, typer.Option("--state", help="State store URL (with -e: what is deployed).")
    ] = None,
) -> None:
    """Scan a folder: vulnerable dependencies, secrets, misconfiguration, risky code,
    and with -e the environment's provisioned resources and running services."""
    from shipway.manifest import resolve_environment
    from shipway.scanner import scan as run
    from shipway.scanner.compliance import controls

    root, settings, manifest = _settings(path, file, env, fail_on, vulnerability_db, scanners)
    frameworks = tuple(dict.fromkeys(compliance or ()))
    for framework in frameworks:
        controls(framework)  # an unknown name is bad input before anything runs
    environment = resolve_environment(manifest, env) if manifest and env else None
    known, baseline_path = _baseline(baseline, baseline_file, settings.baseline, root)
    deployed = _deployed(manifest, env, state, "runtime" in settings.scanners)
    report = run(
        root,
        settings,
        manifest=manifest,
        environment=environment,
        resources=deployed.resources,
        services=deployed.services,
        home=_home(manifest, state),
        baseline=known,
    )
    chosen = ScanFormat.json if output is OutputFormat.json else output_format
    _print(report, chosen, frameworks)
    if sbom is not None:
        from shipway.scanner.formats.sbom import sbom_json

        project = manifest.manifest.project if manifest else root.resolve().name
        _write(sbom, sbom_json(report, project))
        err_console.print(f"SBOM written to {escape(str(sbom))}")
    if baseline is BaselineMode.write:
        from shipway.scanner.baseline import write_baseline

        count = write_baseline(report.findings, baseline_path)
        err_console.print(
            f"baseline: {count} finding(s) recorded in {escape(str(baseline_path))}; "
            "`--baseline use` reports only new ones"
        )
        return
    if report.baseline is not None:
        err_console.print(
            f"baseline {escape(report.baseline)}: {len(report.baselined)} known finding(s) "
            f"set aside, {len(report.findings)} new"
        )
    if not report.passed:
        raise typer.Exit(1)


def _print(report: ScanReport, chosen: ScanFormat, frameworks: tuple[str, ...]) -> None:
    from shipway.scanner.compliance.coverage import coverage_document
    from shipway.scanner.formats import html_report, report_document, sarif_document

    if chosen is ScanFormat.table:
        _print_table(report)
        for framework in frameworks:
            _print_coverage(coverage_document(report, framework))
        return
    if chosen is ScanFormat.html:
        sys.stdout.write(html_report(report, frameworks))
    elif chosen is ScanFormat.json:
        document = report_document(report)
        if frameworks:
            document["compliance"] = [coverage_document(report, f) for f in frameworks]
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        sys.stdout.write(json.dumps(sarif_document(report), indent=2) + "\n")
    sys.stdout.flush()


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        raise InputError(f"{path}: cannot write: {e.strerror or e}") from None


def _baseline(
    mode: BaselineMode | None, file: Path | None, configured: str | None, root: Path
) -> tuple[Baseline | None, Path]:
    """The baseline to apply (None when writing one, or when none is asked for) and the
    file it lives in."""
    from shipway.scanner.baseline import DEFAULT_NAME, Baseline

    path = file or (Path(configured) if configured else root / DEFAULT_NAME)
    if mode is BaselineMode.write:
        return None, path
    if mode is BaselineMode.use or (mode is None and file is None and configured):
        return Baseline.read(path), path
    if file is not None:
        raise InputError("--baseline-file needs --baseline write or --baseline use")
    return None, path


def _home(manifest: LoadedManifest | None, state: str | None) -> Path | None:
    if manifest is None:
        return None
    from shipway.workspace import Workspace

    return Workspace.for_manifest(manifest.path, state).home


def _deployed(
    manifest: LoadedManifest | None, env: str | None, state: str | None, services: bool
) -> DeployedState:
    """What the state store records for `env`: nothing without -e, or before the first
    deployment (no store yet)."""
    from shipway.scanner.inputs import DeployedState, deployed_state
    from shipway.store import Store
    from shipway.workspace import Workspace

    if manifest is None or env is None:
        return DeployedState()
    ws = Workspace.for_manifest(manifest.path, state)
    if not ws.is_postgres and not (ws.home / "state.db").exists():
        return DeployedState()
    with Store.open(ws.state_url) as store:
        return deployed_state(store, manifest.manifest.project, env, services=services)


def _print_coverage(document: dict[str, Any]) -> None:
    counts = document["counts"]
    table = Table(
        title=f"[bold]{escape(document['framework'].upper())}[/] control coverage: "
        f"{counts['passing']} passing, {counts['failing']} failing, "
        f"{counts['not covered']} not covered",
        title_justify="left",
        expand=True,
    )
    table.add_column("control", ratio=4, overflow="fold")
    table.add_column("status", ratio=1)
    table.add_column("checked by / failing findings", ratio=5, overflow="fold")
    style = {"passing": "green", "failing": "red", "not covered": "dim"}
    for control in document["controls"]:
        detail = ", ".join(control["checked_by"]) or "no rule covers it"
        if control["findings"]:
            detail = "\n".join(
                f"{f['severity']} {f['id']} at {f['where']}" for f in control["findings"]
            )
        table.add_row(
            f"{escape(control['id'])} {escape(control['title'])}",
            f"[{style[control['status']]}]{control['status']}[/]",
            escape(detail),
        )
    console.print(table)


def _settings(
    path: Path | None,
    file: Path | None,
    env: str | None,
    fail_on: str | None,
    vulnerability_db: str | None,
    scanners: Sequence[str] | None,
) -> tuple[Path, ScanSettings, LoadedManifest | None]:
    import dataclasses

    from shipway.manifest import load_manifest
    from shipway.scanner import ScanSettings, Severity
    from shipway.scanner.settings import resolve_database

    if path is not None and not path.is_dir():
        raise InputError(f"{path}: no such folder to scan")
    base = path or Path()
    if file is None and (base / "shipway.yaml").is_file():
        file = base / "shipway.yaml"
    loaded: LoadedManifest | None = None
    if file is not None:
        loaded = load_manifest(file)
        settings = ScanSettings.from_manifest(loaded, env)
        root = path if path is not None else loaded.path.parent
    elif env is not None:
        raise InputError("--env needs a manifest: none at PATH/shipway.yaml, use -f")
    else:
        settings, root = ScanSettings(), base
    if fail_on is not None:
        try:
            settings = dataclasses.replace(settings, fail_on=Severity.parse(fail_on))
        except ValueError as e:
            raise InputError(f"--fail-on: {e}") from None
    if vulnerability_db is not None:
        database = resolve_database(vulnerability_db, Path.cwd())
        settings = dataclasses.replace(settings, vulnerability_db=database)
    if scanners:
        settings = dataclasses.replace(settings, scanners=tuple(dict.fromkeys(scanners)))
    return root, settings, loaded


def _print_table(report: ScanReport) -> None:
    counts = report.counts()
    summary = ", ".join(f"{n} {label}" for label, n in counts.items() if n) or "no findings"
    verdict = (
        "[green]passed[/]" if report.passed else f"[red]FAILED[/] ({len(report.blocking)} blocking)"
    )
    console.print(
        f"[bold]scan[/] of {escape(str(report.root))}: {summary}; "
        f"gate fail_on={report.fail_on.label}: {verdict}"
    )
    for severity in sorted({f.severity for f in report.findings}, reverse=True):
        group = [f for f in report.findings if f.severity == severity]
        table = Table(
            title=f"[{_STYLE[severity.label]}]{severity.label.upper()}[/] ({len(group)})",
            title_justify="left",
            show_lines=True,
            expand=True,
        )
        table.add_column("location", overflow="fold", ratio=2)
        table.add_column("rule / id", overflow="fold", ratio=2)
        table.add_column("finding", overflow="fold", ratio=6)
        for finding in group:
            lines = [
                f"[bold]{escape(finding.title)}[/]",
                f"risk {finding.risk:.1f}: {escape('; '.join(finding.risk_reasons))}",
                f"why: {escape(finding.why)}",
                f"fix: {escape(finding.fix)}",
            ]
            if finding.controls:
                lines.append(f"controls: {escape(', '.join(finding.controls))}")
            if "ignore_expired" in finding.properties:
                lines.append(f"[yellow]{escape(finding.properties['ignore_expired'])}[/]")
            ids = escape(finding.rule + "\n" + finding.id)
            table.add_row(escape(str(finding.location)), ids, "\n".join(lines))
        console.print(table)
    if report.baselined:
        console.print(
            f"[dim]{len(report.baselined)} finding(s) in the baseline "
            f"({escape(str(report.baseline))}) not shown[/]"
        )
    for item in report.suppressed:
        until = f" until {item.expires.isoformat()}" if item.expires else ""
        console.print(
            f"[dim]accepted{until}: {escape(item.finding.id)} at "
            f"{escape(str(item.finding.location))}: {escape(item.reason)}[/]"
        )
    runs = "; ".join(
        f"{r.name} {r.seconds:.1f}s, {r.findings} findings"
        if r.status == "ran"
        else f"{r.name}: not run ({r.note})"
        for r in report.runs
    )
    console.print(f"[dim]scanners: {escape(runs)}[/]")


def register(app: typer.Typer) -> None:
    app.command()(scan)
