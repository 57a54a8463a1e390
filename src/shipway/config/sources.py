"""Reading one configuration layer file (YAML, JSON, TOML or `.env`) into plain data and
the position of every value in it.

Every problem in a file becomes a one-line `ConfigError` at `file:line:col`: syntax,
duplicate keys, malformed `${...}` references, values a JSON document cannot hold. YAML
uses the manifest's dialect (YAML 1.2 core schema, safe limits); JSON is positioned by the
same parser, since JSON is YAML; TOML and `.env` positions come from a line scanner.
"""

from __future__ import annotations

import datetime
import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from shipway.config.errors import ConfigError
from shipway.config.origins import Path
from shipway.config.tomlpos import toml_positions
from shipway.errors import ManifestError
from shipway.manifest import nodes, source
from shipway.manifest.references import find_reference_problem

MAX_BYTES = source.MAX_BYTES
FORMATS = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".toml": "toml", ".env": "env"}
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$")
_DOUBLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


@dataclass(frozen=True)
class LayerDocument:
    """One parsed layer: its data (a mapping) and where each key path's value starts."""

    name: str
    data: dict[str, Any]
    positions: dict[Path, tuple[int, int]] = field(default_factory=dict, repr=False)


def layer_format(path: str) -> str:
    """`yaml`, `json`, `toml` or `env`, from the file name (`.env`, `prod.env`, `x.yaml`)."""
    name = FsPath(path).name
    if name == ".env" or name.startswith(".env."):
        return "env"
    suffix = FsPath(path).suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(sorted(FORMATS))
        raise ConfigError(f"unknown layer format {suffix or name!r}: use one of {known}", path=path)
    return FORMATS[suffix]


def read_layer(file: FsPath, name: str) -> LayerDocument:
    """Parse the layer at `file`; `name` is how messages call it (project-relative)."""
    try:
        if not file.is_file():
            reason = "no such file" if not file.exists() else "not a regular file"
            raise ConfigError(f"cannot read config layer: {reason}", path=name)
        data = file.read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read config layer: {e.strerror or e}", path=name) from e
    if len(data) > MAX_BYTES:
        raise ConfigError(f"layer is {len(data)} bytes; the limit is {MAX_BYTES}", path=name)
    try:
        text = source.decode_manifest(data, name)
    except ManifestError as e:
        raise ConfigError(e.reason, path=name, line=e.line, column=e.column) from e
    return parse_layer(text, name, layer_format(name))


def parse_layer(text: str, name: str, fmt: str) -> LayerDocument:
    """Parse layer `text` in format `fmt`; errors name `name`."""
    parser = {"yaml": _parse_yaml, "json": _parse_json, "toml": _parse_toml, "env": _parse_env}
    document = parser[fmt](text, name)
    if not isinstance(document.data, dict):
        raise ConfigError("the top level of a config layer must be a mapping", path=name, line=1)
    return document


# --- YAML and JSON ----------------------------------------------------------------------


def _compose(text: str, name: str) -> Node | None:
    try:
        root = source.compose_manifest(text, name)
        if root is not None:
            nodes.measure(root, name)
    except ManifestError as e:
        raise ConfigError(e.reason, path=name, line=e.line, column=e.column) from e
    return root


def _parse_yaml(text: str, name: str) -> LayerDocument:
    root = _compose(text, name)
    if root is None:
        return LayerDocument(name, {})
    if not isinstance(root, MappingNode):
        raise _at(root, "the top level of a config layer must be a mapping", name)
    positions: dict[Path, tuple[int, int]] = {}
    data = _walk(root, (), positions, name)
    return LayerDocument(name, data, positions)


def _walk(node: Node, path: Path, positions: dict[Path, tuple[int, int]], name: str) -> Any:
    positions[path] = nodes.position(node)
    try:
        if isinstance(node, MappingNode):
            entries = nodes.mapping_entries(node, name)
            return {
                key: _walk(value, (*path, key), positions, name)
                for key, (_, value) in entries.items()
            }
        if isinstance(node, SequenceNode):
            return [_walk(item, (*path, i), positions, name) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        return nodes.to_data(node, name)
    except ManifestError as e:
        if isinstance(e, ConfigError):
            raise
        raise ConfigError(e.reason, path=name, line=e.line, column=e.column) from e


def _locate(node: Node, path: Path, positions: dict[Path, tuple[int, int]], name: str) -> None:
    """Record where each value starts, without converting scalars."""
    positions[path] = nodes.position(node)
    try:
        if isinstance(node, MappingNode):
            for key, (_, value) in nodes.mapping_entries(node, name).items():
                _locate(value, (*path, key), positions, name)
        elif isinstance(node, SequenceNode):
            for i, item in enumerate(node.value):
                _locate(item, (*path, i), positions, name)
    except ManifestError as e:
        if isinstance(e, ConfigError):
            raise
        raise ConfigError(e.reason, path=name, line=e.line, column=e.column) from e


def _parse_json(text: str, name: str) -> LayerDocument:
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise ConfigError(f"invalid JSON: {e.msg}", path=name, line=e.lineno, column=e.colno) from e
    except ValueError as e:
        raise ConfigError(f"invalid JSON: {e}", path=name) from e
    if not isinstance(data, dict):
        raise ConfigError("the top level of a config layer must be an object", path=name, line=1)
    positions: dict[Path, tuple[int, int]] = {}
    # NOTE: JSON is YAML 1.2, so the YAML composer positions every value; the data itself
    # comes from the JSON parser. A document YAML cannot compose keeps no positions.
    try:
        root = _compose(text, name)
        if isinstance(root, MappingNode):
            _locate(root, (), positions, name)
    except ConfigError as e:
        if "duplicate key" in e.reason:
            raise
        positions = {}
    _check_strings(data, (), positions, name)
    return LayerDocument(name, data, positions)


def _no_constant(value: str) -> Any:
    raise ValueError(f"{value} is not a number JSON allows")


# --- TOML -------------------------------------------------------------------------------

_TOML_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


def _parse_toml(text: str, name: str) -> LayerDocument:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        message = str(e)
        found = _TOML_AT.search(message)
        reason = "invalid TOML: " + _TOML_AT.sub("", message).strip()
        if found is None:
            raise ConfigError(reason, path=name) from e
        line, column = int(found.group(1)), int(found.group(2))
        raise ConfigError(reason, path=name, line=line, column=column) from e
    positions = toml_positions(text)
    data = _plain(raw, (), positions, name)
    _check_strings(data, (), positions, name)
    return LayerDocument(name, data, positions)


def _plain(value: Any, path: Path, positions: dict[Path, tuple[int, int]], name: str) -> Any:
    """TOML values as JSON data: dates and times become ISO 8601 text."""
    if isinstance(value, dict):
        return {k: _plain(v, (*path, k), positions, name) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, (*path, i), positions, name) for i, v in enumerate(value)]
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        line, column = nearest(positions, path)
        raise ConfigError(
            "numbers must be finite (no inf or nan)", path=name, line=line, column=column
        )
    return value


# --- .env -------------------------------------------------------------------------------


def _parse_env(text: str, name: str) -> LayerDocument:
    """`KEY=value` lines. Keys are lowercased and `__` nests (`DB__HOST` is `db.host`);
    unquoted values are typed like YAML scalars, quoted values are text."""
    data: dict[str, Any] = {}
    positions: dict[Path, tuple[int, int]] = {(): (1, 1)}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _ENV_LINE.match(line)
        if match is None:
            column = len(line) - len(line.lstrip()) + 1
            raise ConfigError("expected KEY=value", path=name, line=number, column=column)
        key, raw = match.group(1), match.group(2)
        column = match.start(2) + 1
        path: tuple[str, ...] = tuple(key.lower().split("__"))
        if any(not part for part in path):
            raise ConfigError(f"invalid key {key!r}", path=name, line=number, column=1)
        value = _env_value(raw, name, number, column)
        _check_reference(value, name, number, column)
        target = data
        for depth, part in enumerate(path[:-1]):
            child = target.get(part)
            if not isinstance(child, dict):
                child = target[part] = {}
                positions[path[: depth + 1]] = (number, 1)
            target = child
        if path[-1] in target:
            first = positions.get(path, (number, 1))[0]
            raise ConfigError(
                f"duplicate key {key!r} (first defined at line {first})",
                path=name,
                line=number,
                column=1,
            )
        target[path[-1]] = value
        positions[path] = (number, column)
    return LayerDocument(name, data, positions)


def _env_value(raw: str, name: str, line: int, column: int) -> Any:
    raw = raw.rstrip()
    if raw.startswith('"'):
        out, i = [], 1
        while i < len(raw):
            char = raw[i]
            if char == "\\" and i + 1 < len(raw):
                out.append(_DOUBLE_ESCAPES.get(raw[i + 1], "\\" + raw[i + 1]))
                i += 2
                continue
            if char == '"':
                _only_comment(raw[i + 1 :], name, line, column + i + 1)
                return "".join(out)
            out.append(char)
            i += 1
        raise ConfigError("unterminated double-quoted value", path=name, line=line, column=column)
    if raw.startswith("'"):
        end = raw.find("'", 1)
        if end == -1:
            raise ConfigError(
                "unterminated single-quoted value", path=name, line=line, column=column
            )
        _only_comment(raw[end + 1 :], name, line, column + end + 1)
        return raw[1:end]
    comment = re.search(r"\s#", raw)
    text = (raw[: comment.start()] if comment else raw).strip()
    if text == "":
        return ""
    return _typed_scalar(text)


def _only_comment(rest: str, name: str, line: int, column: int) -> None:
    if rest.strip() and not rest.strip().startswith("#"):
        raise ConfigError("text after a quoted value", path=name, line=line, column=column)


def _typed_scalar(text: str) -> Any:
    """`8080` is a number, `true` a boolean, `null` deletes; anything else is text."""
    try:
        root = source.compose_manifest(text, "-")
    except ManifestError:
        return text
    if isinstance(root, ScalarNode) and root.tag != "tag:yaml.org,2002:str":
        try:
            return nodes.to_data(root, "-")
        except ManifestError:
            return text
    return text


# --- shared -----------------------------------------------------------------------------


def nearest(positions: dict[Path, tuple[int, int]], path: Path) -> tuple[int | None, int | None]:
    """The position of `path`, or of its closest ancestor that has one."""
    for end in range(len(path), -1, -1):
        found = positions.get(path[:end])
        if found is not None:
            return found
    return None, None


def _check_strings(
    value: Any, path: Path, positions: dict[Path, tuple[int, int]], name: str
) -> None:
    """Malformed `${...}` references are errors at their value's position."""
    if isinstance(value, dict):
        for key, item in value.items():
            _check_strings(item, (*path, key), positions, name)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_strings(item, (*path, i), positions, name)
    elif isinstance(value, str):
        line, column = nearest(positions, path)
        _check_reference(value, name, line, column)


def _check_reference(value: Any, name: str, line: int | None, column: int | None) -> None:
    if isinstance(value, str) and "${" in value:
        problem = find_reference_problem(value)
        if problem is not None:
            raise ConfigError(problem.reason, path=name, line=line, column=column)


def _at(node: Node, reason: str, name: str) -> ConfigError:
    line, column = nodes.position(node)
    return ConfigError(reason, path=name, line=line, column=column)
