"""JSONPath (RFC 9535) queries on response bodies, through python-jsonpath."""

from __future__ import annotations

from typing import Any

import jsonpath

from shipway.errors import ShipwayError


class JsonPathError(ShipwayError):
    """An expression that is not a JSONPath."""


def find(expression: str, document: Any) -> list[Any]:
    """Every value `expression` selects in `document` (empty when none)."""
    try:
        return list(jsonpath.findall(expression, document))
    except jsonpath.JSONPathError as exc:
        raise JsonPathError(f"invalid JSONPath {expression!r}: {exc}") from exc


def same(left: Any, right: Any) -> bool:
    """JSON equality: `true` is not `1`, `1` is `1.0`, containers compare deeply."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)
    return type(left) is type(right) and bool(left == right)
