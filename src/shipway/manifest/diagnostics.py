"""Pydantic validation errors, translated into one-line `ManifestError`s with positions.

An error location (`services.api.port`) is followed through the YAML node trees it may come
from ("layers": the top level, then the environments an environment inherits from); the
layer that reaches deepest, and the latest one on a tie, supplied the value. Messages are
rewritten for people who write YAML, not Python.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from yaml.nodes import Node

from shipway.errors import ManifestError
from shipway.manifest.fields import ModelProblem, did_you_mean
from shipway.manifest.nodes import Located, locate, position

_MAPPING_TYPES = {"model_type", "dict_type", "model_attributes_type"}
_EXPECTED = {
    "list_type": "a list",
    "tuple_type": "a list",
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "date_type": "a date (YYYY-MM-DD)",
    "date_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "a date (YYYY-MM-DD)",
}


def manifest_error(
    error: ValidationError, layers: Sequence[Node], path: str, context: str = ""
) -> ManifestError:
    """The earliest problem in the file, with a count of the others."""
    problems = sorted(
        (_problem(details, layers, path, context) for details in error.errors()),
        key=lambda p: (p.line or 0, p.column or 0),
    )
    first = problems[0]
    if len(problems) > 1:
        more = len(problems) - 1
        reason = f"{first.reason} (and {more} more problem{'s' if more > 1 else ''})"
        return ManifestError(reason, path=path, line=first.line, column=first.column)
    return first


def _problem(
    details: ErrorDetails, layers: Sequence[Node], path: str, context: str
) -> ManifestError:
    loc: tuple[str | int, ...] = tuple(details["loc"])
    cause = (details.get("ctx") or {}).get("error")
    at_key = details["type"] == "extra_forbidden" or "[key]" in loc
    if isinstance(cause, ModelProblem):
        loc += cause.path
        at_key = cause.at_key
        message = cause.message
    else:
        message = describe(details)
    found = _deepest(layers, loc)
    node = found.key_node if at_key and found.key_node is not None else found.node
    shown = found.matched[:-1] if at_key and found.key_node is not None else found.matched
    where = dotted(shown)
    reason = f"{context}{where + ': ' if where else ''}{message}"
    line, column = position(node)
    return ManifestError(_one_line(reason), path=path, line=line, column=column)


def _deepest(layers: Sequence[Node], loc: tuple[str | int, ...]) -> Located:
    best = locate(layers[0], loc)
    for layer in layers[1:]:
        found = locate(layer, loc)
        if len(found.matched) >= len(best.matched):
            best = found
    return best


def dotted(parts: Sequence[str | int]) -> str:
    """`services.api.env[0]`-style display of a key path."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def describe(details: ErrorDetails) -> str:
    """A message for one pydantic error, in manifest terms."""
    kind, value, loc = details["type"], details.get("input"), details["loc"]
    ctx = details.get("ctx") or {}
    if kind == "missing":
        return f"missing required key '{loc[-1]}'"
    if kind == "extra_forbidden":
        return f"unknown key '{loc[-1]}'"
    if kind in _MAPPING_TYPES:
        return f"expected a mapping, got {shown(value)}"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {shown(value)}"
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        hint = did_you_mean(value, choices) if isinstance(value, str) else ""
        return f"expected {ctx.get('expected')}, got {shown(value)}{hint}"
    if kind == "string_pattern_mismatch":
        return f"{shown(value)} does not have the expected form {ctx.get('pattern')}"
    message = details["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if kind in ("value_error", "assertion_error", "check_kind"):
        return message
    return f"{message[:1].lower()}{message[1:]}, got {shown(value)}"


def shown(value: Any) -> str:
    """A short, one-line description of a YAML value for error messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null (nothing)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    return str(value)[:40]


def _one_line(text: str) -> str:
    return " ".join(text.split())
