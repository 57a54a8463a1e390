"""Misconfiguration rules over provisioned resources (`ResourceDescriptor`s), data-driven
(cases/resources.yaml); and how findings name and locate a resource."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from shipway.manifest import load_manifest, resolve_environment
from shipway.models import ResourceDescriptor
from shipway.scanner import ScanSettings, scan
from shipway.scanner.scanners.interface import ScanTarget
from shipway.scanner.scanners.misconfiguration import MisconfigurationScanner

CASES = yaml.safe_load((Path(__file__).parent / "cases" / "resources.yaml").read_text())

MANIFEST = """\
version: 1
project: notes
environments:
  dev:
    target: local
  prod:
    extends: dev
    approval: required
resources:
  assets:
    type: aws.s3_bucket
    versioning: true
services: {}
"""


def descriptors(case: dict[str, Any]) -> tuple[ResourceDescriptor, ...]:
    return tuple(ResourceDescriptor(**r) for r in case["resources"])


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_resource_case(tmp_path: Path, case: dict[str, Any]) -> None:
    target = ScanTarget(tmp_path, environment_name=case["environment"], resources=descriptors(case))
    found = sorted((f.rule, f.id.split(":", 1)[1]) for f in MisconfigurationScanner().scan(target))
    expected = []
    for rule, subject, *resource in case["expect"]:
        (match,) = [r for r in case["resources"] if not resource or r["resource_id"] == resource[0]]
        name = f"{match['resource_type']}/{match['resource_id']}"
        expected.append((rule, name + (f":{subject}" if subject else "")))
    assert found == sorted(expected)


def test_findings_point_at_the_manifest_resource(tmp_path: Path) -> None:
    manifest = tmp_path / "shipway.yaml"
    manifest.write_text(MANIFEST)
    loaded = load_manifest(manifest)
    prod = resolve_environment(loaded, "prod")
    resources = [
        ResourceDescriptor(
            "aws.s3_bucket",
            "notes-prod-assets",
            {"versioning": False, "public": True},
            metadata={"manifest_name": "assets"},
        ),
        ResourceDescriptor("local.directory", "/srv/notes/tmp", {"mode": "0777"}),
    ]
    report = scan(
        tmp_path,
        ScanSettings(scanners=("misconfiguration",), compliance=("soc2",)),
        manifest=loaded,
        environment=prod,
        resources=resources,
    )
    by_rule = {f.rule: f for f in report.findings}
    public = by_rule["misconfig.public-bucket"]
    line = MANIFEST.splitlines().index("  assets:") + 1
    assert str(public.location) == f"shipway.yaml:{line}:3"
    assert public.properties["resource"] == "aws.s3_bucket/notes-prod-assets"
    assert "notes-prod-assets" in public.title and public.properties["environment"] == "prod"
    assert "SOC2 CC6.1" in public.controls and "SOC2 CC6.6" in public.controls
    assert "misconfig.bucket-versioning-disabled" in by_rule  # prod extends nothing named so
    directory = by_rule["misconfig.world-accessible-directory"]
    assert str(directory.location) == "shipway.yaml"  # not declared: the manifest itself
    assert directory.controls  # every rule maps to a control
    assert not report.passed  # the public bucket is high


def test_resource_findings_in_sarif(tmp_path: Path, sarif_schema: dict[str, Any]) -> None:
    import jsonschema

    from shipway.scanner.formats import sarif_document

    case = next(c for c in CASES if c["name"].startswith("admin ports"))
    report = scan(
        tmp_path,
        ScanSettings(scanners=("misconfiguration",)),
        resources=descriptors(case),
    )
    sarif = sarif_document(report)
    jsonschema.validate(sarif, sarif_schema)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in sarif["runs"][0]["results"]
    }
    assert uris == {"resources/aws.security_group/sg-web"}


def test_without_resources_nothing_is_checked(tmp_path: Path) -> None:
    target = ScanTarget(tmp_path, environment_name="prod")
    assert list(MisconfigurationScanner().scan(target)) == []
