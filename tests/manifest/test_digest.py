"""The digest identifies what a manifest means, not how it is laid out."""

from __future__ import annotations

from shipway.manifest import load_manifest_text

from .conftest import REFERENCE

SMALL = """\
version: 1
project: demo
environments:
  dev: {target: local}
  prod: {extends: dev, approval: required}
services:
  api:
    run: python -m app --port ${port}
    port: 8080
    env: {A: "1", B: "2"}
"""

SAME_MEANING = """\
# a comment changes nothing
project:   demo      # neither does spacing
version: 1

services:
  api:
    env:
      B: "2"
      A: "1"
    port: 8080
    run: "python -m app --port ${port}"
environments:
  prod:
    approval: required
    extends: dev
  dev:
    target: local
"""


def _digest(text: str) -> str:
    return load_manifest_text(text, "shipway.yaml").digest


def test_comments_whitespace_and_key_order_do_not_change_the_digest() -> None:
    assert _digest(SMALL) == _digest(SAME_MEANING)


def test_a_value_change_changes_the_digest() -> None:
    assert _digest(SMALL) != _digest(SMALL.replace("port: 8080", "port: 8081"))
    assert _digest(SMALL) != _digest(SMALL.replace('B: "2"', 'B: "3"'))
    assert _digest(SMALL) != _digest(SMALL.replace("approval: required", "approval: none"))


def test_list_order_is_meaning() -> None:
    a = SMALL + "config:\n  layers: [a.yaml, b.yaml]\n"
    b = SMALL + "config:\n  layers: [b.yaml, a.yaml]\n"
    assert _digest(a) != _digest(b)


def test_the_path_is_not_part_of_the_digest() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    assert load_manifest_text(text, "a.yaml").digest == load_manifest_text(text, "b.yaml").digest


def test_reference_digest_ignores_its_comments() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    stripped = "\n".join(
        line.split("  #")[0].rstrip() for line in text.splitlines() if not line.startswith("#")
    )
    assert _digest(text) == _digest(stripped)
