"""The CycloneDX 1.6 JSON SBOM (`shipway scan --sbom PATH`), built with
cyclonedx-python-lib: every pinned dependency the dependency sources declare under the
scanned folder (purl `pkg:pypi/NAME@VERSION`, `pkg:npm/...`), with the vulnerabilities
the scan found attached to the components they affect."""

from __future__ import annotations

import datetime
import warnings
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from cyclonedx.model import Property
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.vulnerability import (
    BomTarget,
    Vulnerability,
    VulnerabilityRating,
    VulnerabilityScoreSource,
    VulnerabilitySeverity,
    VulnerabilitySource,
)
from cyclonedx.output import make_outputter
from cyclonedx.schema import OutputFormat, SchemaVersion
from packageurl import PackageURL

from shipway.scanner.engine import ScanReport
from shipway.scanner.findings import Finding
from shipway.scanner.sources import Dependency, collect

SCHEMA_VERSION = SchemaVersion.V1_6
_PURL_TYPES = {"PyPI": "pypi", "npm": "npm"}


def purl_of(ecosystem: str, name: str, version: str) -> PackageURL:
    kind = _PURL_TYPES.get(ecosystem, ecosystem.lower())
    if kind == "npm" and name.startswith("@") and "/" in name:
        scope, _, bare = name.partition("/")
        return PackageURL(type=kind, namespace=scope, name=bare, version=version)
    return PackageURL(type=kind, name=name, version=version)


def sbom_json(
    report: ScanReport, project: str, dependencies: Iterable[Dependency] | None = None
) -> str:
    """The SBOM of the scanned folder as CycloneDX 1.6 JSON."""
    deps = collect(report.root) if dependencies is None else list(dependencies)
    bom = Bom()
    root = Component(name=project, type=ComponentType.APPLICATION, bom_ref=f"project:{project}")
    bom.metadata.component = root
    bom.metadata.timestamp = datetime.datetime.now(datetime.UTC)
    components: dict[str, Component] = {}
    places: dict[str, list[str]] = {}
    for dep in sorted(deps, key=lambda d: (d.ecosystem, d.name, d.version or "")):
        if dep.version is None:
            continue  # a range names no release (see decision 0018)
        purl = purl_of(dep.ecosystem, dep.name, dep.version)
        ref = purl.to_string()
        places.setdefault(ref, []).append(str(dep.location))
        if ref not in components:
            components[ref] = Component(name=dep.name, version=dep.version, purl=purl, bom_ref=ref)
    for ref, component in components.items():
        component.properties.add(Property(name="shipway:declared_in", value=", ".join(places[ref])))
        bom.components.add(component)
    bom.register_dependency(root, components.values())
    everything = [*report.findings, *report.baselined, *(s.finding for s in report.suppressed)]
    for finding in everything:
        vulnerability = _vulnerability(finding, components)
        if vulnerability is not None:
            bom.vulnerabilities.add(vulnerability)
    outputter = make_outputter(bom, OutputFormat.JSON, SCHEMA_VERSION)
    with warnings.catch_warnings():
        # NOTE: the library warns about optional parts of a BOM it cannot check; the
        # test validates the output against the CycloneDX schema instead.
        warnings.simplefilter("ignore", UserWarning)
        return outputter.output_as_string(indent=2)


def _vulnerability(finding: Finding, components: dict[str, Component]) -> Vulnerability | None:
    props = finding.properties
    if finding.scanner != "dependencies" or "package" not in props:
        return None
    ref = purl_of(props["ecosystem"], props["package"], props["version"]).to_string()
    if ref not in components:
        return None
    rating = VulnerabilityRating(severity=VulnerabilitySeverity(finding.severity.label))
    vector = props.get("cvss", "")
    if vector and props.get("cvss_score"):
        method = (
            VulnerabilityScoreSource.CVSS_V4
            if vector.startswith("CVSS:4")
            else VulnerabilityScoreSource.CVSS_V3_1
            if vector.startswith("CVSS:3.1")
            else VulnerabilityScoreSource.CVSS_V3
            if vector.startswith("CVSS:3")
            else VulnerabilityScoreSource.CVSS_V2
        )
        try:
            score = Decimal(props["cvss_score"])
        except InvalidOperation:
            score = None
        rating = VulnerabilityRating(
            severity=VulnerabilitySeverity(finding.severity.label),
            score=score,
            method=method,
            vector=vector,
        )
    source = VulnerabilitySource(name="OSV", url=None)
    return Vulnerability(
        bom_ref=f"{finding.id}@{ref}",
        id=finding.id,
        source=source,
        ratings=[rating],
        description=finding.title,
        recommendation=finding.fix,
        affects=[BomTarget(ref=ref)],
        properties=[Property(name="shipway:aliases", value=", ".join(finding.aliases))]
        if finding.aliases
        else None,
    )


__all__ = ["SCHEMA_VERSION", "purl_of", "sbom_json"]
