"""Shared inputs of the manifest tests: the reference manifest and a minimal one."""

from __future__ import annotations

from pathlib import Path

import pytest

CASES = Path(__file__).with_name("cases")
REFERENCE = CASES / "reference.yaml"

MINIMAL = """\
version: 1
project: demo
environments:
  dev: {}
"""


@pytest.fixture(scope="session")
def reference_text() -> str:
    return REFERENCE.read_text(encoding="utf-8")
