"""The dependency scanner against the shipped OSV snapshot: pinned requirement sets whose
expected advisories were read from the records themselves (ids, ranges, fixed versions),
including pre-, post- and local versions, `last_affected`, withdrawn records and records
that alias each other."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipway.scanner.findings import Finding, Severity
from shipway.scanner.osv.database import OsvDatabase
from shipway.scanner.scanners.dependencies import DependencyScanner
from shipway.scanner.scanners.interface import ScanTarget


def scan_pins(tmp_path: Path, osv_db: OsvDatabase, *pins: str) -> dict[str, list[Finding]]:
    (tmp_path / "requirements.txt").write_text("\n".join(pins) + "\n")
    findings = list(DependencyScanner(osv_db).scan(ScanTarget(tmp_path)))
    out: dict[str, list[Finding]] = {pin: [] for pin in pins}
    for finding in findings:
        line = finding.location.line
        assert line is not None
        out[pins[line - 1]].append(finding)
    return out


def ids(findings: list[Finding]) -> set[str]:
    return {f.id for f in findings}


# (pin, advisories it must have, advisories it must not have), read from the records:
# aiohttp PYSEC-2021-76 is fixed in 3.7.4; PYSEC-2023-120 is fixed in 3.8.5 and lists
# 3.7.4.post0; PYSEC-2024-24 lists 3.9.0rc0; beaker PYSEC-2012-1 is fixed in the
# post-release 1.6.5.post1; pyyaml PYSEC-2020-176 is introduced in 5.1 and fixed in the
# pre-release 5.2b1; django PYSEC-2014-19 has four intervals, the last 1.7a0 to 1.7b4;
# py PYSEC-2022-42969 has `last_affected: 1.11.0`; redis PYSEC-2023-73 is withdrawn.
EXPECTATIONS = [
    ("aiohttp==3.7.3", {"PYSEC-2021-76", "PYSEC-2023-120"}, set()),
    ("aiohttp==3.7.3+ubuntu1", {"PYSEC-2021-76"}, set()),
    ("aiohttp==3.7.4", {"PYSEC-2023-120"}, {"PYSEC-2021-76"}),
    ("aiohttp==3.7.4.post0", {"PYSEC-2023-120"}, {"PYSEC-2021-76"}),
    ("aiohttp==3.9.0rc0", {"PYSEC-2024-24"}, {"PYSEC-2021-76", "PYSEC-2023-120"}),
    ("aiohttp==3.10.0", set(), {"PYSEC-2024-24", "PYSEC-2021-76"}),
    ("beaker==1.6.5", {"PYSEC-2012-1"}, set()),
    ("beaker==1.6.5+deb1", {"PYSEC-2012-1"}, set()),
    ("beaker==1.6.5.post1", set(), {"PYSEC-2012-1"}),
    ("pyyaml==5.1.2", {"PYSEC-2020-176"}, set()),
    ("pyyaml==5.1b1", set(), {"PYSEC-2020-176"}),
    ("pyyaml==5.2b1", set(), {"PYSEC-2020-176"}),
    ("django==1.6.4", {"PYSEC-2014-19"}, set()),
    ("django==1.6.5", set(), {"PYSEC-2014-19"}),
    ("django==1.7b3", {"PYSEC-2014-19"}, set()),
    ("django==1.7b4", set(), {"PYSEC-2014-19"}),
    ("py==1.11.0", {"PYSEC-2022-42969"}, set()),
    ("py==1.11.0.post1", set(), {"PYSEC-2022-42969"}),
    ("redis==4.5.0", set(), {"PYSEC-2023-73"}),
]


@pytest.fixture
def results(tmp_path: Path, osv_db: OsvDatabase) -> dict[str, list[Finding]]:
    return scan_pins(tmp_path, osv_db, *(pin for pin, _, _ in EXPECTATIONS))


@pytest.mark.parametrize(
    ("pin", "present", "absent"), EXPECTATIONS, ids=[e[0] for e in EXPECTATIONS]
)
def test_expected_advisories(
    results: dict[str, list[Finding]], pin: str, present: set[str], absent: set[str]
) -> None:
    found = ids(results[pin])
    assert present <= found, f"{pin}: missing {present - found}"
    assert not (absent & found), f"{pin}: unexpected {absent & found}"
    if not present and not absent:
        pytest.fail("a case must expect something")


def test_nearest_fixed_version_and_last_affected(results: dict[str, list[Finding]]) -> None:
    by_id = {f.id: f for f in results["aiohttp==3.7.3"]}
    assert by_id["PYSEC-2021-76"].properties["fixed_version"] == "3.7.4"
    assert "3.7.4" in by_id["PYSEC-2021-76"].fix
    beaker = next(f for f in results["beaker==1.6.5"] if f.id == "PYSEC-2012-1")
    assert beaker.properties["fixed_version"] == "1.6.5.post1"
    pyyaml = next(f for f in results["pyyaml==5.1.2"] if f.id == "PYSEC-2020-176")
    assert pyyaml.properties["fixed_version"] == "5.2b1"
    py = next(f for f in results["py==1.11.0"] if f.id == "PYSEC-2022-42969")
    assert "fixed_version" not in py.properties
    assert "last affected: 1.11.0" in py.fix


def test_aliases_merge_into_one_finding(tmp_path: Path, osv_db: OsvDatabase) -> None:
    """distributed's PYSEC-2021-871 and PYSEC-2021-872 both alias CVE-2021-42343 (and
    GHSA-hwqr-f3v9-hwxr): one problem, one finding, every name kept."""
    found = scan_pins(tmp_path, osv_db, "distributed==2021.9.1")["distributed==2021.9.1"]
    merged = [f for f in found if "CVE-2021-42343" in f.aliases]
    assert len(merged) == 1
    finding = merged[0]
    assert finding.id == "PYSEC-2021-871"
    assert {"PYSEC-2021-872", "GHSA-hwqr-f3v9-hwxr", "GHSA-j8fq-86c5-5v2r"} <= set(finding.aliases)
    assert finding.properties["advisories"] == "PYSEC-2021-871, PYSEC-2021-872"
    assert finding.properties["fixed_version"] == "2021.10.0"


def test_severity_from_cvss_and_unknown(results: dict[str, list[Finding]]) -> None:
    # PYSEC-2024-24 carries CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N (7.5, high);
    # PYSEC-2021-76 carries no severity, which counts as high.
    advisory = next(f for f in results["aiohttp==3.9.0rc0"] if f.id == "PYSEC-2024-24")
    assert advisory.severity is Severity.HIGH
    assert advisory.properties["cvss_score"] == "7.5"
    unknown = next(f for f in results["aiohttp==3.7.3"] if f.id == "PYSEC-2021-76")
    assert unknown.severity is Severity.HIGH
    assert "no severity published" in unknown.properties["severity_source"]


def test_same_version_in_two_files_is_one_finding(tmp_path: Path, osv_db: OsvDatabase) -> None:
    (tmp_path / "requirements.txt").write_text("py==1.11.0\n")
    (tmp_path / "requirements-dev.txt").write_text("pytest==8.0\npy==1.11.0\n")
    findings = [
        f
        for f in DependencyScanner(osv_db).scan(ScanTarget(tmp_path))
        if f.id == "PYSEC-2022-42969"
    ]
    assert len(findings) == 1
    assert str(findings[0].location) == "requirements-dev.txt:2"
    assert findings[0].properties["also_in"] == "requirements.txt:1"


def test_unpinned_requirements_are_not_matched(tmp_path: Path, osv_db: OsvDatabase) -> None:
    (tmp_path / "requirements.txt").write_text("aiohttp>=3.0\npy\n")
    assert list(DependencyScanner(osv_db).scan(ScanTarget(tmp_path))) == []
