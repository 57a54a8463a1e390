"""Offline OSV exports: a folder or a zip of records (YAML or JSON), the same answers from
both, positions for broken records, and the per-process cache."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from shipway.scanner.osv.database import OsvDatabase, load_database
from shipway.scanner.osv.interface import Package
from shipway.scanner.scanners.interface import ScanInputError
from tests.scanner.conftest import write_record

QUERIES = [
    Package("PyPI", "aiohttp", "3.7.3"),
    Package("PyPI", "jinja2", "2.10"),
    Package("PyPI", "django", "1.6.4"),
    Package("PyPI", "redis", "1.34"),
]


def answers(database: OsvDatabase) -> dict[Package, set[str]]:
    return {q: {m.advisory.id for m in database.query(q)} for q in QUERIES}


def test_zip_and_folder_agree(tmp_path: Path, small_db: Path) -> None:
    archive = tmp_path / "osv.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(small_db.rglob("*.yaml")):
            out.write(path, path.relative_to(small_db).as_posix())
    folder, zipped = OsvDatabase.load(small_db), OsvDatabase.load(archive)
    assert folder.records == zipped.records > 0
    assert answers(folder) == answers(zipped)
    assert "PYSEC-2021-76" in answers(folder)[QUERIES[0]]
    assert answers(folder)[QUERIES[3]] == set()  # redis 1.34: only a withdrawn record


def test_broken_yaml_record_names_its_position(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "BAD-1.yaml").write_text("id: BAD-1\naffected:\n  - package: [\n")
    with pytest.raises(ScanInputError) as caught:
        OsvDatabase.load(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'x' / 'BAD-1.yaml'}:4:1: invalid YAML")
    assert "\n" not in message


def test_broken_json_record_in_a_zip(tmp_path: Path) -> None:
    archive = tmp_path / "osv.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("PyPI/BAD-2.json", '{"id": "BAD-2",\n "affected": [}')
    with pytest.raises(ScanInputError, match=r"osv.zip!/PyPI/BAD-2.json:2:15: invalid JSON"):
        OsvDatabase.load(archive)


def test_not_a_record(tmp_path: Path) -> None:
    (tmp_path / "notes.json").write_text('{"title": "release notes"}')
    with pytest.raises(ScanInputError, match=r"notes.json:1:1: not an OSV record: no 'id'"):
        OsvDatabase.load(tmp_path)


def test_missing_database(tmp_path: Path) -> None:
    with pytest.raises(ScanInputError, match="does not exist"):
        load_database(tmp_path / "nope")


def test_cache_is_reused_until_the_export_changes(tmp_path: Path) -> None:
    affected = [{"package": {"name": "demo", "ecosystem": "PyPI"},
                 "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]  # fmt: skip
    folder = tmp_path / "osv" / "demo"
    write_record(folder, {"id": "DEMO-1", "affected": affected})
    first = load_database(tmp_path / "osv")
    assert load_database(tmp_path / "osv") is first
    write_record(folder, {"id": "DEMO-2", "affected": affected})
    stamp = (folder.stat().st_mtime_ns or 0) + 10**9
    os.utime(folder, ns=(stamp, stamp))
    second = load_database(tmp_path / "osv")
    assert second is not first
    assert {m.advisory.id for m in second.query(Package("PyPI", "demo", "1"))} == {
        "DEMO-1",
        "DEMO-2",
    }
