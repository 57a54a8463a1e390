"""The YAML 1.2 core schema, keys as text, anchors and merges (decision 0008)."""

from __future__ import annotations

import pytest

from shipway.errors import ManifestError
from shipway.manifest import load_manifest_text, source

from .conftest import MINIMAL, REFERENCE


def _load(extra: str) -> object:
    return load_manifest_text(MINIMAL + extra, "shipway.yaml").manifest


def test_yes_no_on_off_are_text() -> None:
    loaded = load_manifest_text(
        MINIMAL + "services:\n  api:\n    run: x\n    env: {A: yes, B: off, C: true, D: 3}\n",
        "m.yaml",
    )
    assert loaded.manifest.services["api"].env == {"A": "yes", "B": "off", "C": "true", "D": "3"}


def test_keys_are_always_text() -> None:
    text = MINIMAL + "resources:\n  r:\n    type: x.y\n    on: 1\n    null_: 2\n"
    loaded = load_manifest_text(text, "m.yaml")
    assert loaded.manifest.resources["r"].attributes == {"on": 1, "null_": 2}


def test_numbers() -> None:
    text = MINIMAL + "resources:\n  r: {type: x.y, a: 0o17, b: 0x1F, c: 1_000, d: 0750, e: 1.5e3}\n"
    attributes = load_manifest_text(text, "m.yaml").manifest.resources["r"].attributes
    assert attributes == {"a": 15, "b": 31, "c": "1_000", "d": 750, "e": 1500.0}


def test_anchors_and_merge_keys() -> None:
    text = (
        MINIMAL
        + """\
services:
  api: &base
    run: python -m app
    port: 8080
    env: {A: "1"}
  admin:
    <<: *base
    port: 8081
"""
    )
    services = load_manifest_text(text, "m.yaml").manifest.services
    assert services["admin"].run == "python -m app"
    assert services["admin"].port == 8081
    assert services["admin"].env == {"A": "1"}


def test_empty_sections_and_environments_are_allowed() -> None:
    text = "version: 1\nproject: demo\nenvironments:\n  dev:\nresources:\nservices:\n"
    loaded = load_manifest_text(text, "m.yaml")
    assert loaded.manifest.resources == {} and loaded.manifest.services == {}
    assert loaded.environments["dev"].spec.target == "local"


def test_version_must_be_the_number_one() -> None:
    for value, reason in [('"1"', "version must be the number 1, got '1'"), ("1.0", "got 1.0")]:
        with pytest.raises(ManifestError, match=reason):
            load_manifest_text(MINIMAL.replace("version: 1", f"version: {value}"), "m.yaml")


def test_the_pure_python_parser_gives_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    fast = load_manifest_text(text, "m.yaml")
    monkeypatch.setattr(source, "_FAST_LOADER", None)
    assert load_manifest_text(text, "m.yaml").digest == fast.digest
    with pytest.raises(ManifestError, match="nested deeper than 200"):
        load_manifest_text("[" * 10_000, "m.yaml")
    with pytest.raises(ManifestError, match=r"^m.yaml:2:1: tab character"):
        load_manifest_text("a:\n\tb: 1\n", "m.yaml")
