"""`shipway scan [PATH]`: run the security scanners over a folder and print the findings
grouped by severity (a table, JSON or SARIF). Exits 1 when a finding reaches the
threshold (`security.fail_on`, or `--fail-on`)."""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shipway.cli.options import OutputFormat
from shipway.cli.output import console
from shipway.errors import InputError

if TYPE_CHECKING:
    from shipway.manifest import LoadedManifest
    from shipway.scanner import ScanReport, ScanSettings


class ScanFormat(enum.StrEnum):
    table = "table"
    json = "json"
    sarif = "sarif"


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
        str | None, typer.Option("--env", "-e", help="Use this environment's `security:`.")
    ] = None,
    output_format: Annotated[
        ScanFormat, typer.Option("--format", help="table for people; json; sarif (2.1.0).")
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
) -> None:
    """Scan a folder: vulnerable dependencies, secrets, misconfiguration, risky code."""
    from shipway.manifest import resolve_environment
    from shipway.scanner import scan as run

    root, settings, manifest = _settings(path, file, env, fail_on, vulnerability_db, scanners)
    environment = resolve_environment(manifest, env) if manifest and env else None
    report = run(root, settings, manifest=manifest, environment=environment)
    chosen = ScanFormat.json if output is OutputFormat.json else output_format
    if chosen is ScanFormat.table:
        _print_table(report)
    else:
        from shipway.scanner.formats import report_document, sarif_document

        document = report_document(report) if chosen is ScanFormat.json else sarif_document(report)
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        sys.stdout.flush()
    if not report.passed:
        raise typer.Exit(1)


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
