"""Turning manifest bytes into a YAML node tree, safely.

Everything that can go wrong before validation is caught here and becomes a one-line
`ManifestError` with a position: oversized files, undecodable bytes, control characters,
tabs used for indentation, YAML syntax, and documents built to exhaust memory or the stack
(alias bombs, deep nesting). The node tree keeps the line and column of every value, which
is how later errors point into the file.

The YAML dialect is the 1.2 core schema (see docs/decisions/0008-manifest-yaml-dialect.md):
`yes`, `no`, `on`, `off` are strings, `0750` is the decimal number 750, and there are no
timestamps or custom tags.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent, NodeEvent
from yaml.nodes import Node
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from shipway.errors import ManifestError

MAX_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 200
MAX_ALIASES = 10_000
MAX_NODES = 1_000_000

# The characters YAML itself refuses (PyYAML's Reader.NON_PRINTABLE), checked up front so the
# error has a line and column whichever parser runs.
_NON_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


class CoreSchemaResolver(BaseResolver):
    """Implicit tags of the YAML 1.2 core schema, plus the `<<` merge key."""

    yaml_implicit_resolvers: dict[Any, Any] = {}


for _tag, _pattern, _first in (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
    ("merge", r"^(?:<<)$", "<"),
):
    CoreSchemaResolver.add_implicit_resolver(
        f"tag:yaml.org,2002:{_tag}", re.compile(_pattern), list(_first)
    )
CoreSchemaResolver.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)


class LimitError(Exception):
    """A document that breaks a safety limit or an anchor rule, at a YAML mark."""

    def __init__(self, reason: str, mark: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.mark = mark


class LimitedComposer(Composer):
    """PyYAML's composer with limits on depth, node count and aliases.

    Aliases are not expanded here (the composer shares nodes); their expanded size is
    measured later, in `nodes.measure`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.aliases = 0
        self.nodes = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()  # type: ignore[attr-defined]  # from the parser mixed in
        assert isinstance(event, NodeEvent)
        anchor = event.anchor
        if isinstance(event, AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise LimitError(f"more than {MAX_ALIASES} aliases", event.start_mark)
            if anchor not in self.anchors:
                raise LimitError(f"unknown alias '*{anchor}'", event.start_mark)
        elif anchor is not None and anchor in self.anchors:
            first = self.anchors[anchor].start_mark.line + 1
            raise LimitError(
                f"duplicate anchor '&{anchor}' (first defined at line {first})", event.start_mark
            )
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise LimitError(f"more than {MAX_NODES} YAML nodes", event.start_mark)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise LimitError(f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class PureLoader(Reader, Scanner, Parser, LimitedComposer, CoreSchemaResolver):
    """The pure-Python parser, used when PyYAML was built without libyaml."""

    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        LimitedComposer.__init__(self)
        CoreSchemaResolver.__init__(self)


class Loader(Protocol):
    """What `compose_manifest` needs from a loader, whichever parser it uses."""

    def get_single_node(self) -> Node | None: ...

    def dispose(self) -> None: ...


def _fast_loader_class() -> Callable[[str], Loader] | None:
    try:
        from yaml._yaml import CParser
    except ImportError:  # pragma: no cover - PyYAML without libyaml
        return None

    class FastLoader(LimitedComposer, CoreSchemaResolver, CParser):
        """libyaml's event parser (fast, iterative) under the Python composer."""

        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            LimitedComposer.__init__(self)
            CoreSchemaResolver.__init__(self)

    return FastLoader


_FAST_LOADER = _fast_loader_class()


def read_manifest_bytes(path: Path) -> bytes:
    """The file's bytes, refusing what is not a regular file or is larger than MAX_BYTES."""
    try:
        if not path.is_file():
            reason = "no such file" if not path.exists() else "not a regular file"
            raise ManifestError(f"cannot read manifest: {reason}", path=path)
        if path.stat().st_size > MAX_BYTES:
            raise ManifestError(_too_large(path.stat().st_size), path=path)
        with path.open("rb") as stream:
            data = stream.read(MAX_BYTES + 1)
    except OSError as e:
        raise ManifestError(f"cannot read manifest: {e.strerror or e}", path=path) from e
    if len(data) > MAX_BYTES:
        raise ManifestError(_too_large(len(data)), path=path)
    return data


def _too_large(size: int) -> str:
    return f"manifest is {size} bytes; the limit is {MAX_BYTES} bytes (5 MiB)"


def decode_manifest(data: bytes, path: str) -> str:
    """UTF-8 text (a BOM is allowed); binary and undecodable bytes are refused."""
    nul = data.find(b"\x00")
    if nul != -1:
        line, column = _byte_position(data, nul)
        raise ManifestError(
            "NUL byte: the manifest looks like a binary file", path=path, line=line, column=column
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line, column = _byte_position(data, e.start)
        raise ManifestError(
            f"not UTF-8 text (byte 0x{data[e.start]:02x} cannot be decoded)",
            path=path,
            line=line,
            column=column,
        ) from e


def _byte_position(data: bytes, offset: int) -> tuple[int, int]:
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return data.count(b"\n", 0, offset) + 1, column


def compose_manifest(text: str, path: str) -> Node | None:
    """The document's root node (None for an empty document), or a ManifestError."""
    if len(text) > MAX_BYTES:
        raise ManifestError(_too_large(len(text)), path=path)
    bad = _NON_PRINTABLE.search(text)
    if bad is not None:
        line, column = _text_position(text, bad.start())
        char = bad.group()
        control = ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F
        kind = f"{'control ' if control else ''}character U+{ord(char):04X}"
        kind = "NUL byte" if char == "\x00" else kind
        raise ManifestError(f"{kind} is not allowed in YAML", path=path, line=line, column=column)
    loader: Loader = _FAST_LOADER(text) if _FAST_LOADER is not None else PureLoader(text)
    try:
        return loader.get_single_node()
    except LimitError as e:
        raise _error_at(e.reason, e.mark, path) from e
    except yaml.MarkedYAMLError as e:
        raise _syntax_error(e, text, path) from e
    except yaml.YAMLError as e:
        raise ManifestError(f"invalid YAML: {_one_line(str(e))}", path=path) from e
    finally:
        loader.dispose()


def _syntax_error(error: yaml.MarkedYAMLError, text: str, path: str) -> ManifestError:
    mark = error.problem_mark or error.context_mark
    if mark is not None:
        line_text = text.split("\n")[mark.line] if mark.line < text.count("\n") + 1 else ""
        indent = len(line_text) - len(line_text.lstrip(" \t"))
        tab = line_text.find("\t", 0, indent)
        if tab != -1:
            return ManifestError(
                "tab character used for indentation; indent with spaces",
                path=path,
                line=mark.line + 1,
                column=tab + 1,
            )
    problem = error.problem or "syntax error"
    if "expected a single document" in (error.context or ""):
        problem = "a manifest is a single YAML document; found a second one ('---')"
    elif error.context:
        problem = f"{problem} ({error.context.strip()})"
    return _error_at(f"invalid YAML: {problem}", mark, path)


def _error_at(reason: str, mark: Any, path: str) -> ManifestError:
    if mark is None:
        return ManifestError(_one_line(reason), path=path)
    return ManifestError(_one_line(reason), path=path, line=mark.line + 1, column=mark.column + 1)


def _text_position(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _one_line(text: str) -> str:
    return " ".join(text.split())
