"""Data-driven bad manifests: each file in cases/bad/ starts with
`# expect: LINE:COL reason-substring` and must fail there, with that reason."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shipway.errors import ManifestError
from shipway.manifest import load_manifest

from .conftest import CASES

BAD = sorted((CASES / "bad").glob("*.yaml"))


def _expectation(path: Path) -> tuple[int, int, str]:
    first = path.read_text(encoding="utf-8").split("\n", 1)[0]
    match = re.fullmatch(r"# expect: (\d+):(\d+) (.+)", first)
    assert match, f"{path.name}: first line must be '# expect: LINE:COL reason'"
    return int(match[1]), int(match[2]), match[3]


def test_there_are_bad_cases() -> None:
    assert len(BAD) >= 30


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_manifest_fails_at_the_right_place(path: Path) -> None:
    line, column, reason = _expectation(path)
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    error = caught.value
    assert (error.line, error.column) == (line, column), str(error)
    assert reason in error.reason, str(error)
    assert str(error).startswith(f"{path}:{line}:{column}: ")
    assert "\n" not in str(error)
