"""From a YAML node tree to plain Python data, and from a key path back to its node.

Conversion enforces what YAML allows but a manifest must not have: duplicate keys,
non-string keys, custom tags, non-finite or oversized numbers, malformed `${...}`
references, and aliases that expand into an enormous document. `locate` walks the same tree
to find the node an error path names, so every later error can carry a line and column.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from shipway.errors import ManifestError
from shipway.manifest.references import find_reference_problem
from shipway.manifest.source import MAX_DEPTH, MAX_NODES

_TAG = "tag:yaml.org,2002:"
_MAX_INT = 2**63 - 1
_KINDS = {_TAG + "map": "mapping", _TAG + "seq": "list"}


def position(node: Node) -> tuple[int, int]:
    """1-based line and column where `node` starts."""
    return node.start_mark.line + 1, node.start_mark.column + 1


def error_at(node: Node, reason: str, path: str, offset: int = 0) -> ManifestError:
    line, column = position(node)
    return ManifestError(reason, path=path, line=line, column=column + offset)


def measure(root: Node, path: str) -> None:
    """Refuse documents whose aliases loop, or expand past MAX_NODES or MAX_DEPTH."""
    done: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded size, height)
    active: set[int] = set()

    def visit(node: Node, depth: int) -> tuple[int, int]:
        seen = done.get(id(node))
        if seen is None:
            if id(node) in active:
                raise error_at(node, "an alias refers to a node that contains it", path)
            if depth > MAX_DEPTH:
                raise error_at(node, f"nested deeper than {MAX_DEPTH} levels", path)
            active.add(id(node))
            size, height = 1, 1
            for child in _children(node):
                child_size, child_height = visit(child, depth + 1)
                size += child_size
                height = max(height, child_height + 1)
                if size > MAX_NODES:
                    raise error_at(
                        node, f"aliases expand the document past {MAX_NODES} nodes", path
                    )
            active.discard(id(node))
            seen = done[id(node)] = (size, height)
        if depth + seen[1] - 1 > MAX_DEPTH:
            raise error_at(node, f"aliases nest the document deeper than {MAX_DEPTH} levels", path)
        return seen

    visit(root, 1)


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def mapping_entries(node: MappingNode, path: str) -> dict[str, tuple[Node, Node]]:
    """Key text -> (key node, value node), with `<<` merges applied and duplicates refused.

    Keys are always their literal text: `on:` is the key "on", `1:` the key "1".
    """
    explicit: dict[str, tuple[Node, Node]] = {}
    for key_node, value_node in node.value:
        if key_node.tag == _TAG + "merge":
            continue
        if not isinstance(key_node, ScalarNode):
            raise error_at(key_node, "mapping keys must be plain text", path)
        key = key_node.value
        if key in explicit:
            first = position(explicit[key][0])[0]
            raise error_at(key_node, f"duplicate key '{key}' (first defined at line {first})", path)
        explicit[key] = (key_node, value_node)
    entries: dict[str, tuple[Node, Node]] = {}
    for key_node, value_node in node.value:
        if key_node.tag == _TAG + "merge":
            for key, pair in _merged(value_node, path).items():
                if key not in explicit:
                    entries.setdefault(key, pair)
        elif key_node.value not in entries:
            entries[key_node.value] = explicit[key_node.value]
    return entries


def _merged(node: Node, path: str) -> dict[str, tuple[Node, Node]]:
    sources = node.value if isinstance(node, SequenceNode) else [node]
    merged: dict[str, tuple[Node, Node]] = {}
    for source in sources:
        if not isinstance(source, MappingNode):
            raise error_at(source, "a merge key '<<' takes a mapping or a list of mappings", path)
        for key, pair in mapping_entries(source, path).items():
            merged.setdefault(key, pair)  # earlier sources win, as YAML specifies
    return merged


def to_data(node: Node, path: str) -> Any:
    """Plain Python data for `node`: dict, list, str, int, float, bool or None."""
    if isinstance(node, MappingNode):
        _check_tag(node, _TAG + "map", path)
        return {
            key: to_data(value, path) for key, (_, value) in mapping_entries(node, path).items()
        }
    if isinstance(node, SequenceNode):
        _check_tag(node, _TAG + "seq", path)
        return [to_data(item, path) for item in node.value]
    assert isinstance(node, ScalarNode)
    return _scalar(node, path)


def _check_tag(node: Node, expected: str, path: str) -> None:
    if node.tag != expected:
        raise error_at(
            node, f"unsupported YAML tag '{_short(node.tag)}' on a {_KINDS[expected]}", path
        )


def _short(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


def _scalar(node: ScalarNode, path: str) -> Any:
    tag, text = node.tag, node.value
    if tag == _TAG + "str":
        _check_references(node, path)
        return text
    if tag == _TAG + "null" and text in ("~", "null", "Null", "NULL", ""):
        return None
    if tag == _TAG + "bool" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if tag == _TAG + "int":
        return _integer(node, path)
    if tag == _TAG + "float":
        return _float(node, path)
    if tag.startswith(_TAG) and tag[len(_TAG) :] in ("null", "bool"):
        raise error_at(node, f"{text[:40]!r} is not a valid {tag[len(_TAG) :]}", path)
    raise error_at(node, f"unsupported YAML tag '{_short(tag)}'", path)


def _integer(node: ScalarNode, path: str) -> int:
    text = node.value.replace("_", "")
    digits = text.lstrip("+-")
    if len(digits) > 40:
        raise error_at(node, "integer out of range (at most 64 bits)", path)
    try:
        if digits[:2] in ("0o", "0x"):
            value = int(digits[2:], 8 if digits[1] == "o" else 16)
            value = -value if text.startswith("-") else value
        else:
            value = int(text, 10)
    except ValueError as e:
        raise error_at(node, f"{node.value[:40]!r} is not a valid integer", path) from e
    if abs(value) > _MAX_INT:
        raise error_at(node, "integer out of range (at most 64 bits)", path)
    return value


def _float(node: ScalarNode, path: str) -> float:
    text = node.value.replace("_", "").lower()
    if len(text) > 100:
        raise error_at(node, "number too long", path)
    try:
        value = float(text.replace(".inf", "inf").replace(".nan", "nan"))
    except ValueError as e:
        raise error_at(node, f"{node.value[:40]!r} is not a valid number", path) from e
    if not math.isfinite(value):
        raise error_at(node, "numbers must be finite (no infinity, NaN or overflow)", path)
    return value


def _check_references(node: ScalarNode, path: str) -> None:
    problem = find_reference_problem(node.value)
    if problem is None:
        return
    # A plain one-line scalar maps character offsets to columns exactly; otherwise point
    # at the start of the value.
    exact = node.style in (None, "") and "\n" not in node.value[: problem.offset]
    raise error_at(node, problem.reason, path, problem.offset if exact else 0)


@dataclass(frozen=True)
class Located:
    """Where an error path ends up in the YAML: the deepest node it reaches."""

    node: Node
    key_node: Node | None
    matched: tuple[str | int, ...]


def locate(root: Node, loc: Sequence[str | int]) -> Located:
    """Follow `loc` (a pydantic error location) from `root` as far as the YAML goes.

    Parts that name no child (union tags such as `<tcp>`, a missing key) are skipped, so a
    missing key lands on the mapping that lacks it.
    """
    node, key_node = root, None
    matched: tuple[str | int, ...] = ()
    for part in loc:
        child = _child(node, part)
        if child is not None:
            key_node, node = child
            matched = (*matched, part)
    return Located(node, key_node, matched)


def _child(node: Node, part: str | int) -> tuple[Node | None, Node] | None:
    if isinstance(node, MappingNode) and isinstance(part, str):
        try:
            return mapping_entries(node, "").get(part)
        except ManifestError:
            return None
    if isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return None, node.value[part]
    return None
