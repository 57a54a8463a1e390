"""The Markdown reference of every manifest key, rendered from the JSON Schema.

`python -m shipway.manifest.docs > docs/manifest.md` regenerates the committed copy; a test
fails when it is stale, so the reference cannot drift from the models.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from shipway.manifest.models import OVERRIDABLE_SECTIONS
from shipway.manifest.schema import PARTIAL_PREFIX, manifest_json_schema

REGENERATE = "python -m shipway.manifest.docs > docs/manifest.md"

_INTRO = f"""\
# `shipway.yaml` reference

<!-- Generated from the manifest models by `{REGENERATE}`. Do not edit by hand. -->

Every key shipway reads from `shipway.yaml`, with its type, default and meaning. The same
information is available to editors as a JSON Schema (`shipway schema`).

Conventions:

- **duration**: a number and a unit, `ms`, `s`, `m`, `h` or `d`, combinable: `200ms`, `2s`,
  `1m30s`. A bare number is an error (seconds or milliseconds?).
- **size**: a number and a unit, decimal `k`, `M`, `G`, `T` or binary `Ki`, `Mi`, `Gi`, `Ti`:
  `256Mi`, `1Gi`, `500M`.
- **rate**: `200/s`, `60/m`, `10/h`. **percentage**: `0.5%`.
- **references**: text may contain `${{name}}` (`${{secret:github_token}}`,
  `${{resources.db.url}}`, `${{config.log_level}}`, `${{port}}`), resolved when the value is
  used. `$${{` writes a literal `${{`.
- **YAML**: the YAML 1.2 core schema: `yes`/`no`/`on`/`off` are text, keys are always text,
  anchors and `<<` merges work, custom tags do not. Quote file modes (`"0750"`).
- **environments**: an environment inherits the top-level sections, then everything from the
  environment it `extends`. Its own sections are deep-merged over them: mappings merge key by
  key, lists replace, `null` removes a key.

`<name>` stands for a name you choose (lowercase letters, digits, `-`, `_`); `[]` for an item
of a list.
"""


@dataclass(frozen=True)
class Row:
    """One documented key."""

    path: str
    type: str
    default: str
    description: str


def render_manifest_docs() -> str:
    """The Markdown reference (the content of docs/manifest.md)."""
    schema = manifest_json_schema()
    defs = schema["$defs"]
    parts = [_INTRO]
    for name, prop in schema["properties"].items():
        need = _REQUIRED if name in schema.get("required", []) else ""
        rows = _dedupe(_rows(prop, defs, name, need))
        parts.append(f"\n## `{name}`\n\n{_describe_def(prop, defs)}")
        parts.append("| key | type | default | description |\n|---|---|---|---|")
        parts.extend(
            f"| `{r.path}` | {r.type} | {r.default} | {_cell(r.description)} |" for r in rows
        )
    return "\n".join(parts) + "\n"


_REQUIRED = "**required**"
_REQUIRED_FOR_KIND = "**required** for this kind"
_ATTRIBUTE = {"description": "Any other key: an attribute for the provider of `type`."}


def _rows(prop: dict[str, Any], defs: dict[str, Any], path: str, need: str) -> Iterator[Row]:
    yield Row(path, _type(prop, defs, path), _default(prop, need), _description(prop, defs))
    if _is_override(path):
        return
    for child_path, child, child_need in _children(prop, defs, path):
        yield from _rows(child, defs, child_path, child_need)


def _children(
    schema: dict[str, Any], defs: dict[str, Any], path: str, kind: bool = False
) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(path, schema, requirement) of each key below `schema`; `kind` marks union members."""
    target = _deref(schema, defs)
    if target is None:
        return
    members = target.get("anyOf", []) + target.get("oneOf", [])
    forms = sum(1 for m in members if "properties" in (_deref(m, defs) or {}))
    for member in members:
        yield from _children(member, defs, path, kind=forms > 1)
    required = target.get("required", [])
    need = _REQUIRED_FOR_KIND if kind else _REQUIRED
    for name, prop in target.get("properties", {}).items():
        yield f"{path}.{name}", prop, need if name in required else ""
    if "properties" in target and target.get("additionalProperties") is True:
        yield f"{path}.<attribute>", _ATTRIBUTE, ""
    if target.get("type") == "array" and "items" in target:
        yield from _children(target["items"], defs, path + "[]")
    values = list(target.get("patternProperties", {}).values())
    if isinstance(target.get("additionalProperties"), dict):
        values.append(target["additionalProperties"])
    for value in values:
        if "properties" in (_deref(value, defs) or {}):
            yield f"{path}.<name>", value, ""


def _deref(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any] | None:
    if "$ref" not in schema:
        return schema
    name = schema["$ref"].rsplit("/", 1)[-1]
    return None if name.startswith(PARTIAL_PREFIX) else defs[name]


def _type(schema: dict[str, Any], defs: dict[str, Any], path: str) -> str:
    if _is_override(path):
        return f"partial `{path.rsplit('.', 1)[-1]}`"
    target = _deref(schema, defs) or {}
    if "x-shipway-kind" in target:
        return str(target["x-shipway-kind"])
    if "const" in target:
        return f"`{json.dumps(target['const'])}`"
    if "enum" in target:
        return " or ".join(f"`{value}`" for value in target["enum"])
    members = [
        m for m in target.get("anyOf", []) + target.get("oneOf", []) if m != {"type": "null"}
    ]
    if members:
        return " or ".join(dict.fromkeys(_type(member, defs, "") for member in members))
    kind = target.get("type")
    if kind == "array":
        item = _type(target.get("items", {}), defs, "")
        return f"list of ({item})" if " or " in item else f"list of {item}"
    if kind == "object" or "properties" in target:
        values = list(target.get("patternProperties", {}).values())
        if values:
            return f"mapping of name to {_type(values[0], defs, '')}"
        return "mapping"
    if target.get("format") == "date":
        return "date (YYYY-MM-DD)"
    if isinstance(kind, list):
        return " or ".join(_SIMPLE.get(str(k), str(k)) for k in kind)
    return _SIMPLE.get(str(kind), "any value")


_SIMPLE = {"string": "text", "integer": "integer", "number": "number", "boolean": "boolean"}


def _default(schema: dict[str, Any], need: str) -> str:
    if need:
        return need
    if "default" not in schema or schema["default"] is None:
        return "-"
    value = schema["default"]
    return f"`{value}`" if isinstance(value, str) else f"`{json.dumps(value)}`"


def _description(schema: dict[str, Any], defs: dict[str, Any]) -> str:
    if "description" in schema:
        return str(schema["description"])
    target = _deref(schema, defs) or {}
    return str(target.get("description", ""))


def _describe_def(schema: dict[str, Any], defs: dict[str, Any]) -> str:
    text = _description(_deref(schema, defs) or {}, defs)
    return f"{' '.join(text.split())}\n" if text else ""


def _is_override(path: str) -> bool:
    head, _, section = path.rpartition(".")
    return head == "environments.<name>" and section in OVERRIDABLE_SECTIONS


def _dedupe(rows: Iterator[Row]) -> list[Row]:
    # NOTE: members of a union (e.g. the kinds of network check) share keys such as
    # `required`; each key path is documented once.
    unique: dict[str, Row] = {}
    for row in rows:
        unique.setdefault(row.path, row)
    return list(unique.values())


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")
