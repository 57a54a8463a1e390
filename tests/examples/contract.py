"""Checks a real response against examples/notes/app/openapi.json.

Every API test passes its responses through `check_contract`, so the document cannot
drift from what the service does without a test failing.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from tests.examples.notes_process import APP_DIR

DOCUMENT: dict[str, Any] = json.loads((APP_DIR / "openapi.json").read_text())
_BASE = "urn:notes-openapi"
_REGISTRY: Registry[Any] = Registry().with_resource(_BASE, DRAFT202012.create_resource(DOCUMENT))


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local `$ref` ("#/components/...") to the object it names."""
    while "$ref" in node:
        target: Any = DOCUMENT
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def check_contract(response: httpx.Response, template: str) -> None:
    """Fail unless the document declares this status for the operation, with this body."""
    method = response.request.method.lower()
    operation = DOCUMENT["paths"][template][method]
    status = str(response.status_code)
    assert status in operation["responses"], (
        f"{method.upper()} {template} answered {status}, which openapi.json does not declare"
    )
    declared = _resolve(operation["responses"][status])
    content = declared.get("content")
    if not content:
        assert response.content == b""
        return
    media = response.headers["content-type"].split(";")[0]
    assert media in content, f"{media} is not among {sorted(content)}"
    if media != "application/json":
        return
    schema = content[media]["schema"]
    if "$ref" in schema:
        schema = {"$ref": _BASE + schema["$ref"]}
    validator = OAS31Validator(schema, registry=_REGISTRY, format_checker=oas31_format_checker)
    validator.validate(response.json())
