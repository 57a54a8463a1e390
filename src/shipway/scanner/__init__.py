"""The SecurityScanner: scanners run concurrently over a folder (dependencies against OSV
advisories, secrets in files and git history, misconfiguration of the manifest, the merged
configuration and provisioned resources, risky code, released services at run time),
findings mapped to compliance controls, accepted ones set aside (`security.ignore`, a
baseline), and the release gate (`security.fail_on`).

`scan(root, settings)` is the library entry point; `shipway scan` and the pipeline's
`scan` stage are its two callers.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from shipway.scanner.engine import ScannerRun, ScanReport, run_scan
from shipway.scanner.findings import Finding, Location, Rule, Severity
from shipway.scanner.scanners import Scanner, ScannerError, ScanTarget
from shipway.scanner.scanners.interface import never as _never
from shipway.scanner.settings import ScanSettings

if TYPE_CHECKING:
    from shipway.manifest import LoadedManifest, ResolvedEnvironment
    from shipway.models import ResourceDescriptor
    from shipway.scanner.baseline import Baseline
    from shipway.scanner.runtime.endpoints import ServiceEndpoint


def scan(
    root: Path,
    settings: ScanSettings,
    *,
    manifest: LoadedManifest | None = None,
    environment: ResolvedEnvironment | None = None,
    cancelled: Callable[[], bool] | None = None,
    today: datetime.date | None = None,
    resources: Sequence[ResourceDescriptor] = (),
    services: Sequence[ServiceEndpoint] = (),
    home: Path | None = None,
    baseline: Baseline | None = None,
) -> ScanReport:
    """Scan the folder `root` with `settings`. `resources` are the environment's
    provisioned resources (for the misconfiguration rules), `services` its released
    services (for the runtime scanner); `baseline` sets known findings aside."""
    target = ScanTarget(
        root=root,
        vulnerability_db=settings.vulnerability_db,
        vulnerability_db_origin=settings.vulnerability_db_origin,
        environment_name=environment.name if environment else None,
        manifest=manifest,
        environment=environment,
        cancelled=cancelled or _never,
        resources=tuple(resources),
        services=tuple(services),
        home=home,
    )
    return run_scan(target, settings, today=today, baseline=baseline)


__all__ = [
    "Finding",
    "Location",
    "Rule",
    "ScanReport",
    "ScanSettings",
    "ScanTarget",
    "Scanner",
    "ScannerError",
    "ScannerRun",
    "Severity",
    "scan",
]
