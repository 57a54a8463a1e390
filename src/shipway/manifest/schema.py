"""The manifest's JSON Schema (draft 2020-12), generated from the models.

Editors use it for completion and checks; `docs.py` renders the reference from it. Beyond
what pydantic generates, it shows the defaults of list and mapping fields, forbids keys that
do not match a name pattern, and describes environment overrides as partial sections (the
same keys, none required, `null` allowed to remove a key).
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from shipway.manifest.models import OVERRIDABLE_SECTIONS, Manifest

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "https://shipway.dev/schemas/manifest-v1.json"
PARTIAL_PREFIX = "Partial"


class ManifestSchemaGenerator(GenerateJsonSchema):
    """Pydantic's generator, showing `[]`/`{}`-style defaults that come from factories."""

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        factory = schema.get("default_factory")
        if factory is not None and not schema.get("default_factory_takes_data"):
            value = factory()  # type: ignore[call-arg]
            if not isinstance(value, BaseModel):
                schema = {**schema, "default": value}
                schema.pop("default_factory", None)
        return super().default_schema(schema)


def manifest_json_schema() -> dict[str, Any]:
    """The JSON Schema of `shipway.yaml`."""
    generated = Manifest.model_json_schema(
        by_alias=True, mode="validation", schema_generator=ManifestSchemaGenerator
    )
    _close_pattern_properties(generated)
    defs: dict[str, Any] = generated["$defs"]
    env_properties = defs["EnvironmentSpec"]["properties"]
    for section in OVERRIDABLE_SECTIONS:
        partial = _partial(generated["properties"][section], defs)
        env_properties[section] = {
            "anyOf": [partial, {"type": "null"}],
            "default": None,
            "description": env_properties[section]["description"],
        }
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        **generated,
        "title": "shipway manifest (shipway.yaml)",
    }


def _close_pattern_properties(schema: Any) -> None:
    # NOTE: pydantic emits `patternProperties` for constrained keys but leaves other keys
    # allowed; the loader refuses them, so the schema must too.
    if isinstance(schema, dict):
        if "patternProperties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        for value in schema.values():
            _close_pattern_properties(value)
    elif isinstance(schema, list):
        for item in schema:
            _close_pattern_properties(item)


def _partial(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """`schema` as an override: mappings partial, lists and scalars unchanged (they replace)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        target = defs.get(name, {})
        if "properties" not in target:
            return schema
        partial_name = PARTIAL_PREFIX + name
        if partial_name not in defs:
            defs[partial_name] = {}  # reserve first: a def may refer to itself
            defs[partial_name] = _partial_model(target, defs)
        return {**schema, "$ref": f"#/$defs/{partial_name}"}
    if "anyOf" in schema:
        return {**schema, "anyOf": [_partial(member, defs) for member in schema["anyOf"]]}
    result = dict(schema)
    for key in ("additionalProperties", "patternProperties"):
        value = schema.get(key)
        if key == "additionalProperties" and isinstance(value, dict):
            result[key] = _nullable(_partial(value, defs))
        elif key == "patternProperties" and isinstance(value, dict):
            result[key] = {p: _nullable(_partial(s, defs)) for p, s in value.items()}
    return result


def _partial_model(model: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    partial = {key: copy.deepcopy(value) for key, value in model.items() if key != "required"}
    partial["properties"] = {
        name: {
            "anyOf": [_partial(_without_docs(prop), defs), {"type": "null"}],
            **({"description": prop["description"]} if "description" in prop else {}),
        }
        for name, prop in model["properties"].items()
    }
    partial["title"] = f"{model.get('title', '')} (override)"
    return partial


def _without_docs(prop: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in prop.items() if k not in ("description", "default", "title")}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}
