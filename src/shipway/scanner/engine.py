"""Running scanners: concurrently, one thread each, into one `ScanReport` with compliance
controls added, ignores and the baseline applied and the gate decided."""

from __future__ import annotations

import dataclasses
import datetime
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from shipway.errors import InputError
from shipway.scanner.baseline import Baseline
from shipway.scanner.compliance import controls, controls_for
from shipway.scanner.findings import Finding, Rule, Severity
from shipway.scanner.policy import Suppressed, apply_ignores, blocking
from shipway.scanner.risk import RiskContext, scored
from shipway.scanner.scanners import PLANNED, Scanner, ScanTarget, load_scanner
from shipway.scanner.settings import ScanSettings


@dataclass(frozen=True)
class ScannerRun:
    """How one scanner went: `ran` with its timing and count, or `unavailable` and why."""

    name: str
    status: str
    seconds: float = 0.0
    findings: int = 0
    note: str = ""


@dataclass(frozen=True)
class ScanReport:
    """Everything a scan found, sorted most severe first, and the gate's verdict."""

    root: Path
    fail_on: Severity
    findings: tuple[Finding, ...]
    suppressed: tuple[Suppressed, ...]
    rules: Mapping[str, Rule]
    runs: tuple[ScannerRun, ...]
    #: Findings the baseline already knew: listed apart, outside the gate.
    baselined: tuple[Finding, ...] = ()
    #: The baseline file used, if any.
    baseline: str | None = None

    @property
    def blocking(self) -> list[Finding]:
        return blocking(self.findings, self.fail_on)

    @property
    def passed(self) -> bool:
        return not self.blocking

    def counts(self) -> dict[str, int]:
        """Active findings per severity label, most severe first."""
        out = {severity.label: 0 for severity in sorted(Severity, reverse=True)}
        for finding in self.findings:
            out[finding.severity.label] += 1
        return out


def sort_key(finding: Finding) -> tuple[float, int, str, int, str, str]:
    """Riskiest first; then most severe, then by place."""
    loc = finding.location
    return (-finding.risk, -finding.severity, loc.path, loc.line or 0, finding.rule, finding.id)


def run_scan(
    target: ScanTarget,
    settings: ScanSettings,
    *,
    today: datetime.date | None = None,
    scanners: Sequence[Scanner] | None = None,
    baseline: Baseline | None = None,
) -> ScanReport:
    """Run the scanners named in `settings` (or the given instances) over `target`."""
    if not target.root.is_dir():
        raise InputError(f"{target.root}: not a folder to scan")
    for framework in settings.compliance:
        controls(framework)  # an unknown framework is bad input, findings or not
    runs: list[ScannerRun] = []
    if scanners is None:
        scanners = []
        for name in settings.scanners:
            if name in PLANNED:
                runs.append(ScannerRun(name, "unavailable", note="not in this version"))
                continue
            scanner = load_scanner(name)
            reason = scanner.unavailable()
            if reason:
                runs.append(ScannerRun(name, "unavailable", note=reason))
            else:
                scanners.append(scanner)
    results = _run_concurrently(target, scanners)
    findings: list[Finding] = []
    rules: dict[str, Rule] = {}
    for scanner, (found, seconds) in zip(scanners, results, strict=True):
        runs.append(ScannerRun(scanner.name, "ran", round(seconds, 3), len(found)))
        findings.extend(found)
        rules.update((rule.id, rule) for rule in scanner.rules())
    findings = [_with_controls(f, settings.compliance) for f in findings]
    findings = scored(findings, RiskContext.of(target.environment))
    active, suppressed = apply_ignores(
        findings, settings.ignores, today or datetime.datetime.now(datetime.UTC).date()
    )
    known: list[Finding] = []
    if baseline is not None:
        known = [f for f in active if f in baseline]
        active = [f for f in active if f not in baseline]
    active.sort(key=sort_key)
    known.sort(key=sort_key)
    suppressed.sort(key=lambda s: sort_key(s.finding))
    return ScanReport(
        root=target.root,
        fail_on=settings.fail_on,
        findings=tuple(active),
        suppressed=tuple(suppressed),
        rules=MappingProxyType(rules),
        runs=tuple(sorted(runs, key=lambda r: r.name)),
        baselined=tuple(known),
        baseline=baseline.path if baseline is not None else None,
    )


def _run_concurrently(
    target: ScanTarget, scanners: Sequence[Scanner]
) -> list[tuple[list[Finding], float]]:
    """Each scanner in its own thread; the first error (in scanner order) is raised after
    all have stopped, so no thread outlives the scan."""
    if not scanners:
        return []
    with ThreadPoolExecutor(len(scanners), thread_name_prefix="scanner") as pool:
        futures: list[Future[tuple[list[Finding], float]]] = [
            pool.submit(_timed, scanner, target) for scanner in scanners
        ]
    for future in futures:
        error = future.exception()
        if error is not None:
            raise error
    return [f.result() for f in futures]


def _timed(scanner: Scanner, target: ScanTarget) -> tuple[list[Finding], float]:
    start = time.perf_counter()
    found = list(scanner.scan(target))
    return found, time.perf_counter() - start


def _with_controls(finding: Finding, frameworks: tuple[str, ...]) -> Finding:
    mapped = controls_for(finding.rule, frameworks)
    merged = tuple(dict.fromkeys((*finding.controls, *mapped)))
    return dataclasses.replace(finding, controls=merged) if merged != finding.controls else finding
