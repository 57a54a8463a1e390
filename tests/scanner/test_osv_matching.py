"""OSV range semantics, case by case (cases/osv_ranges.yaml), and against the whole PyPA
snapshot: range evaluation must reproduce the versions PyPA enumerated from its ranges."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from shipway.scanner.osv.database import OsvDatabase
from shipway.scanner.osv.interface import Package
from shipway.scanner.osv.matching import AffectedMatcher, in_range, nearest_fix
from shipway.scanner.osv.records import parse_advisory
from shipway.scanner.osv.versions import SemVer, parse_version
from tests.scanner.conftest import write_record

CASES = yaml.safe_load((Path(__file__).parent / "cases" / "osv_ranges.yaml").read_text())


def _matchers(case: dict[str, Any]) -> tuple[str, list[AffectedMatcher]]:
    advisory = parse_advisory({"id": "TEST-1", "affected": case["affected"]})
    ecosystem = advisory.affected[0].ecosystem
    return ecosystem, [AffectedMatcher(advisory, a) for a in advisory.affected]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_range_case(case: dict[str, Any]) -> None:
    ecosystem, matchers = _matchers(case)
    for text in case["vulnerable"]:
        version = parse_version(ecosystem, text)
        assert any(m.affects(text, version) for m in matchers), f"{text} should be affected"
    for text in case["safe"]:
        version = parse_version(ecosystem, text)
        assert not any(m.affects(text, version) for m in matchers), f"{text} should be safe"
    for text, expected in (case.get("fixes") or {}).items():
        assert nearest_fix(matchers, parse_version(ecosystem, text)) == expected, text


def test_nearest_fix_covers_every_advisory_of_a_group() -> None:
    first = parse_advisory(
        {"id": "A", "affected": [{"package": {"name": "demo", "ecosystem": "PyPI"},
         "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.5"}]}]}]}
    )  # fmt: skip
    second = parse_advisory(
        {"id": "B", "affected": [{"package": {"name": "demo", "ecosystem": "PyPI"},
         "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.7"}]}]}]}
    )  # fmt: skip
    group = [AffectedMatcher(a, a.affected[0]) for a in (first, second)]
    assert nearest_fix(group, parse_version("PyPI", "1.4")) == "1.7"
    assert nearest_fix(group[:1], parse_version("PyPI", "1.4")) == "1.5"


def test_semver_order() -> None:
    # The example order of the Semantic Versioning 2.0 specification, then releases.
    ordered = "1.0.0-alpha 1.0.0-alpha.1 1.0.0-alpha.beta 1.0.0-beta 1.0.0-beta.2 1.0.0-beta.11"
    ordered += " 1.0.0-rc.1 1.0.0 1.0.1 1.1.0"
    parsed = [SemVer.parse(v) for v in ordered.split()]
    assert all(p is not None for p in parsed)
    assert sorted(parsed, key=lambda p: p.key) == parsed  # type: ignore[union-attr]
    assert SemVer.parse("not.a.version") is None


def test_withdrawn_records_match_nothing(tmp_path: Path) -> None:
    affected = [{"package": {"name": "demo", "ecosystem": "PyPI"},
                 "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]  # fmt: skip
    write_record(tmp_path, {"id": "LIVE-1", "affected": affected})
    write_record(
        tmp_path, {"id": "GONE-1", "withdrawn": "2024-01-01T00:00:00Z", "affected": affected}
    )
    database = OsvDatabase.load(tmp_path)
    assert (database.records, database.withdrawn) == (2, 1)
    found = database.query(Package("PyPI", "demo", "1.0"))
    assert [m.advisory.id for m in found] == ["LIVE-1"]


def test_ranges_reproduce_the_snapshots_version_lists(osv_db: OsvDatabase) -> None:
    """PyPA lists, for each record, the releases its ranges cover. Evaluating the ranges
    alone must give the same answer for (nearly) every one of the ~139,000 listed versions;
    the few it does not are records whose list and ranges disagree in the data itself."""
    checked = agreed = 0
    for key in osv_db.index_keys():
        for matcher in osv_db.candidates(*key):
            ranges = matcher.ranges()
            if not ranges:
                continue
            for text in matcher.affected.versions:
                version = parse_version("PyPI", text)
                if version is None:
                    continue
                checked += 1
                agreed += any(in_range(bounds, version) for bounds in ranges)
    assert checked > 100_000
    assert agreed / checked > 0.9995, (checked, agreed)
