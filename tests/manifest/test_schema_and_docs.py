"""The JSON Schema, the generated reference in docs/manifest.md, and the starter manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipway.manifest import (
    STARTER_MANIFEST,
    load_manifest_text,
    manifest_json_schema,
    render_manifest_docs,
    resolve_environment,
    starter_manifest,
)
from shipway.manifest.docs import REGENERATE

from .conftest import REFERENCE

DOCS = Path(__file__).parents[2] / "docs" / "manifest.md"


def test_schema_header() -> None:
    schema = manifest_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].startswith("https://")
    assert "shipway" in schema["title"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"version", "project", "environments"}
    json.dumps(schema)  # serializable as is


def test_units_show_as_patterned_strings() -> None:
    defs = manifest_json_schema()["$defs"]
    interval = defs["HealthCheck"]["properties"]["interval"]
    assert interval["type"] == "string" and interval["default"] == "1s"
    assert "pattern" in interval


def test_resources_allow_provider_attributes_only_there() -> None:
    defs = manifest_json_schema()["$defs"]
    assert defs["ResourceSpec"]["additionalProperties"] is True
    closed = [name for name, d in defs.items() if d.get("additionalProperties") is False]
    assert "ServiceSpec" in closed and "EnvironmentSpec" in closed


def _reference_as_json() -> Any:
    # PyYAML (YAML 1.1) reads the date as a date; JSON Schema sees text.
    return json.loads(json.dumps(yaml.safe_load(REFERENCE.read_text()), default=str))


def test_schema_accepts_the_reference_and_rejects_typos() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = manifest_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    data = _reference_as_json()
    assert list(validator.iter_errors(data)) == []
    data["services"]["api"]["prot"] = 1
    data["environments"]["prod"]["services"] = {"api": {"port": 9090}, "old": None}
    errors = list(validator.iter_errors(data))
    assert [list(e.path) for e in errors] == [["services", "api"]]


def test_docs_are_up_to_date() -> None:
    assert DOCS.exists(), f"docs/manifest.md is missing: run `{REGENERATE}`"
    assert DOCS.read_text(encoding="utf-8") == render_manifest_docs(), (
        f"docs/manifest.md is stale: run `{REGENERATE}`"
    )


def test_docs_cover_every_key_of_the_reference() -> None:
    docs = render_manifest_docs()
    for path in _key_paths(yaml.safe_load(REFERENCE.read_text()), ""):
        if not path.startswith("resources.<name>.") or path.count(".") < 2:
            assert f"`{path}`" in docs, path


def _key_paths(value: Any, prefix: str) -> list[str]:
    named = {"environments", "resources", "services", "notify", "stages", "env", "save", "json"}
    paths = []
    if isinstance(value, dict):
        for key, child in value.items():
            last = prefix.rsplit(".", 1)[-1]
            path = f"{prefix}.<name>" if last in named else f"{prefix}.{key}".lstrip(".")
            if last in {"env", "save", "json"}:
                continue
            paths.append(path)
            paths += _key_paths(child, path)
    elif isinstance(value, list):
        for item in value:
            paths += _key_paths(item, prefix + "[]")
    return sorted(set(paths))


def test_starter_manifest_loads_cleanly() -> None:
    loaded = load_manifest_text(STARTER_MANIFEST, "shipway.yaml")
    assert loaded.manifest.project == "myapp"
    assert resolve_environment(loaded, "dev").tested_service == "web"
    assert "#" in STARTER_MANIFEST  # it is commented


def test_starter_manifest_for_a_project() -> None:
    assert load_manifest_text(starter_manifest("shop"), "m.yaml").manifest.project == "shop"
    with pytest.raises(Exception, match="invalid project name"):
        starter_manifest("My Shop")
