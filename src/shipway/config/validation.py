"""Checking a resolved configuration against the JSON Schema that `config.schema` names.

Each violation is reported with its JSON path and the `file:line:col` of the layer value
that decided it. A value that holds a secret reference is only known as text until the
service starts, so at such a key only `type` is checked.
"""

from __future__ import annotations

import re
from pathlib import Path as FsPath

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError
from jsonschema.validators import validator_for

from shipway.config.errors import ConfigError
from shipway.config.interpolation import Resolved
from shipway.config.layers import Stack
from shipway.config.origins import Path, json_path
from shipway.config.sources import LayerDocument, nearest, read_layer

_UNEXPECTED = re.compile(r"'([^']+)' (?:was|were) unexpected")
MAX_MESSAGE = 200


class ConfigSchema:
    """A loaded JSON Schema (JSON or YAML file) and its validator."""

    def __init__(self, document: LayerDocument) -> None:
        self.document = document
        cls = validator_for(document.data, default=Draft202012Validator)
        try:
            cls.check_schema(document.data)
        except SchemaError as e:
            where: Path = tuple(e.path)
            line, column = nearest(dict(document.positions), where)
            raise ConfigError(
                f"invalid JSON Schema at {json_path(where)}: {_short(e.message)}",
                path=document.name,
                line=line,
                column=column,
            ) from e
        self.validator = cls(document.data)

    @classmethod
    def read(cls, file: FsPath, name: str) -> ConfigSchema:
        return cls(read_layer(file, name))

    def violations(self, resolved: Resolved, stack: Stack) -> list[ConfigError]:
        """Every violation, in key order, each located at the value's origin."""
        out: list[tuple[Path, ConfigError]] = []
        for error in self.validator.iter_errors(resolved.values):
            path: Path = tuple(error.absolute_path)
            if path in resolved.templates and error.validator != "type":
                continue
            unexpected = _UNEXPECTED.search(error.message)
            target = path
            if error.validator == "additionalProperties" and unexpected:
                target = (*path, unexpected.group(1))
            origin = stack.origin(target) if target else stack.origin(path)
            reason = f"{json_path(target)}: {_short(_message(error))}"
            out.append((target, origin.error(reason)))
        out.sort(key=lambda item: [str(part) for part in item[0]])
        return [error for _, error in out]


def _message(error: ValidationError) -> str:
    if error.validator == "additionalProperties":
        found = _UNEXPECTED.search(error.message)
        if found:
            return "unknown key (the schema allows no additional properties)"
    return error.message


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def check(schema: ConfigSchema | None, resolved: Resolved, stack: Stack) -> None:
    """Raise the first violation (the message counts the others)."""
    if schema is None:
        return
    found = schema.violations(resolved, stack)
    if not found:
        return
    first = found[0]
    if len(found) > 1:
        more = len(found) - 1
        raise ConfigError(
            f"{first.reason} (and {more} more schema violation{'s' if more > 1 else ''})",
            path=first.path,
            line=first.line,
            column=first.column,
        )
    raise first
