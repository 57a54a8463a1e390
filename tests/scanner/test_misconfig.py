"""Misconfiguration rules, data-driven (cases/misconfig.yaml): each expected finding is
located at the manifest line that sets (or lacks) the setting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from shipway.manifest import load_manifest, resolve_environment
from shipway.scanner.engine import run_scan
from shipway.scanner.scanners.interface import ScanTarget
from shipway.scanner.scanners.misconfiguration import MisconfigurationScanner
from shipway.scanner.settings import ScanSettings

CASES = yaml.safe_load((Path(__file__).parent / "cases" / "misconfig.yaml").read_text())
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "notes" / "shipway.yaml"


def position_of(text: str, marker: str) -> str:
    """`line:col` of `marker`, counting from its first non-blank character."""
    offset = text.index(marker)
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"{line}:{column}"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_misconfig_case(tmp_path: Path, case: dict[str, Any]) -> None:
    manifest = tmp_path / "shipway.yaml"
    manifest.write_text(case["manifest"])
    loaded = load_manifest(manifest)
    name = case["environment"]
    environment = resolve_environment(loaded, name) if name else None
    target = ScanTarget(tmp_path, manifest=loaded, environment=environment)
    found = sorted(
        (f.rule, str(f.location).removeprefix("shipway.yaml:"))
        for f in MisconfigurationScanner().scan(target)
    )
    expected = sorted((rule, position_of(case["manifest"], at)) for rule, at in case["expect"])
    assert found == expected
    fired = {rule for rule, _ in found}
    assert not fired & set(case.get("absent", []))


def test_the_example_is_clean(tmp_path: Path) -> None:
    loaded = load_manifest(EXAMPLE)
    for name in loaded.environments:
        target = ScanTarget(EXAMPLE.parent, manifest=loaded, environment=loaded.environments[name])
        assert list(MisconfigurationScanner().scan(target)) == [], name


def test_findings_map_to_controls_and_name_their_environments(tmp_path: Path) -> None:
    case = CASES[2]
    (tmp_path / "shipway.yaml").write_text(case["manifest"])
    loaded = load_manifest(tmp_path / "shipway.yaml")
    settings = ScanSettings(scanners=("misconfiguration",))
    report = run_scan(ScanTarget(tmp_path, manifest=loaded), settings)
    (finding,) = report.findings
    assert finding.properties["environment"] == "dev, staging, production"
    assert "SOC2 A1.1" in finding.controls and "GDPR Art. 32" in finding.controls
    assert finding.id == "misconfig.service-without-memory-limit:worker"


def test_without_a_manifest_there_is_nothing_to_check(tmp_path: Path) -> None:
    assert list(MisconfigurationScanner().scan(ScanTarget(tmp_path))) == []
