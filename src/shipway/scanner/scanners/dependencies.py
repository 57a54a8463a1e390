"""The dependency scanner: pinned versions from requirements files, pyproject.toml and
lockfiles, matched against OSV advisories (offline export or the API). Advisories that
name each other (a PYSEC id, its CVE, its GHSA) become one finding."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import MappingProxyType

from shipway.errors import InputError
from shipway.scanner.findings import Finding, Location, Rule, Severity
from shipway.scanner.osv.api import DEFAULT_URL, OsvApiService
from shipway.scanner.osv.database import load_database
from shipway.scanner.osv.interface import Package, VulnerabilityService
from shipway.scanner.osv.matching import AffectedMatcher, nearest_fix
from shipway.scanner.osv.severity import rate
from shipway.scanner.osv.versions import parse_version
from shipway.scanner.scanners.interface import Scanner, ScanTarget
from shipway.scanner.settings import ONLINE
from shipway.scanner.sources import Dependency, collect

VULNERABILITY = Rule(
    id="dependency.vulnerability",
    title="Dependency with a known vulnerability",
    why="A published advisory says this version of the package can be exploited; attackers "
    "read the same advisories.",
    fix="Upgrade to the nearest fixed version named in the finding, then re-lock.",
    severity=Severity.HIGH,
)

# Which id names a merged finding: the PyPA id first (what pip-audit and the example
# manifest use), then GitHub's, then any other record id, then an alias.
_ID_PREFERENCE = ("PYSEC-", "GHSA-")


def vulnerability_service(database: str, origin: str = "") -> VulnerabilityService:
    """The service `security.vulnerability_db` names: `osv`, a URL, or a path."""
    if database == ONLINE:
        return OsvApiService(DEFAULT_URL)
    if database.startswith(("http://", "https://")):
        return OsvApiService(database)
    path = Path(database)
    if not path.exists():
        where = f"{origin}: " if origin else ""
        raise InputError(f"{where}vulnerability_db {database} does not exist")
    return load_database(path)


class DependencyScanner(Scanner):
    name = "dependencies"

    def __init__(self, service: VulnerabilityService | None = None) -> None:
        self._service = service

    def rules(self) -> Sequence[Rule]:
        return (VULNERABILITY,)

    def scan(self, target: ScanTarget) -> Iterator[Finding]:
        pinned = [d for d in collect(target.root) if d.version is not None]
        if not pinned:
            return
        service = self._service or vulnerability_service(
            target.vulnerability_db, target.vulnerability_db_origin
        )
        packages = {d: Package(d.ecosystem, d.name, str(d.version)) for d in pinned}
        matches = service.query_all(sorted(set(packages.values()), key=_package_key))
        # One finding per package version and advisory; other places declaring the same
        # version are listed with it.
        places: dict[tuple[Package, str], tuple[Dependency, list[AffectedMatcher], list[str]]]
        places = {}
        for dependency in sorted(pinned, key=lambda d: (d.location.path, d.location.line or 0)):
            package = packages[dependency]
            for group in merge_aliases(matches.get(package, [])):
                key = (package, primary_id(group))
                if key in places:
                    places[key][2].append(str(dependency.location))
                else:
                    places[key] = (dependency, group, [])
        for (package, finding_id), (dependency, group, elsewhere) in places.items():
            yield _finding(finding_id, package, dependency.location, group, elsewhere)


def _package_key(package: Package) -> tuple[str, str, str]:
    return (package.ecosystem, package.name, package.version)


def merge_aliases(matchers: Sequence[AffectedMatcher]) -> list[list[AffectedMatcher]]:
    """Matchers grouped so that advisories sharing any id or alias land together."""
    parent = list(range(len(matchers)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for index, matcher in enumerate(matchers):
        for name in (matcher.advisory.id, *matcher.advisory.aliases):
            if name in owner:
                parent[find(index)] = find(owner[name])
            else:
                owner[name] = index
    groups: dict[int, list[AffectedMatcher]] = {}
    for index, matcher in enumerate(matchers):
        groups.setdefault(find(index), []).append(matcher)
    return sorted(groups.values(), key=primary_id)


def primary_id(group: Sequence[AffectedMatcher]) -> str:
    ids = sorted({m.advisory.id for m in group})
    for prefix in _ID_PREFERENCE:
        preferred = [i for i in ids if i.startswith(prefix)]
        if preferred:
            return preferred[0]
    return ids[0]


def _finding(
    finding_id: str,
    package: Package,
    location: Location,
    group: list[AffectedMatcher],
    elsewhere: list[str],
) -> Finding:
    names = {m.advisory.id for m in group} | {a for m in group for a in m.advisory.aliases}
    # Aliases describe one problem: a published rating (CVSS or the database's) decides;
    # only when none has one does the unknown default apply.
    ratings = [rate(m.advisory) for m in group]
    known = [r for r in ratings if r.known] or ratings
    worst = max(known, key=lambda r: (r.severity, r.score or 0.0))
    main = next(m.advisory for m in group if m.advisory.id == finding_id)
    fixed = nearest_fix(group, parse_version(package.ecosystem, package.version))
    properties = {
        "ecosystem": package.ecosystem,
        "package": package.name,
        "version": package.version,
        "advisories": ", ".join(sorted(m.advisory.id for m in group)),
        "severity_source": worst.source,
        "url": main.url,
    }
    if worst.vector and worst.score is not None:
        properties["cvss"] = worst.vector
        properties["cvss_score"] = f"{worst.score:.1f}"
    if fixed:
        properties["fixed_version"] = fixed
        fix = f"Upgrade {package.name} to {fixed} or later (the nearest version that fixes it)."
    else:
        last = sorted({b.text for m in group for b in m.last_affected()})
        through = f" (last affected: {', '.join(last)})" if last else ""
        fix = (
            f"No fixed version of {package.name} is published{through}: replace or remove it, "
            "or accept the risk with a `security.ignore` entry that expires."
        )
    if elsewhere:
        properties["also_in"] = ", ".join(elsewhere)
    return Finding(
        id=finding_id,
        rule=VULNERABILITY.id,
        scanner="dependencies",
        severity=worst.severity,
        location=location,
        title=f"{package.name} {package.version}: {_headline(main.summary or main.details)}",
        why=_clip(main.details or main.summary, 400),
        fix=fix,
        aliases=tuple(sorted(names - {finding_id})),
        properties=MappingProxyType(properties),
    )


_TELLING = re.compile(
    r"vulnerab|allow|attack|exploit|inject|bypass|denial|overflow|XSS|forg|travers|leak"
    r"|disclos|arbitrary|malicious|crafted|unsafe|insecure|smuggl|redirect|execut|escalat"
    r"|DoS\b|spoof|hijack|expos|unauthori|privilege|crash|corrupt",
    re.IGNORECASE,
)


def _headline(text: str) -> str:
    """The summary, or the first sentence of the details that says what goes wrong (PyPA
    details often open by describing the package)."""
    sentences = re.split(r"(?<=[.!?])\s", " ".join(text.split()))
    telling = next((s for s in sentences if _TELLING.search(s)), sentences[0])
    return _clip(telling, 120) or "known vulnerability"


def _clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
