"""Layers and how they merge: the files `config.layers` names, the overrides kept by
`shipway config set`, then `--set key=value` from the command line, later over earlier.

Merging follows JSON Merge Patch (RFC 7386), like environment inheritance: mappings merge
key by key, lists and scalars replace, `null` deletes a key. Provenance is not tracked while
merging (it would slow down the common path); `Stack.origin` and `Stack.explain` work it
out afterwards from the layers, which keep the position of every value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from shipway.config.errors import ConfigError
from shipway.config.origins import Origin, Path, dotted, parse_key
from shipway.config.sources import LayerDocument, _typed_scalar, nearest, read_layer

MISSING = object()


def walk(node: Any, path: Path) -> Any:
    """The value at `path` below `node`, or `MISSING`."""
    for part in path:
        if isinstance(node, dict):
            if not isinstance(part, str) or part not in node:
                return MISSING
        elif not isinstance(node, list) or not isinstance(part, int) or not 0 <= part < len(node):
            return MISSING
        node = node[part]
    return node


@dataclass(frozen=True)
class Layer:
    """One source of values. `kind` is `file`, `override` (kept in the store) or `set`."""

    name: str
    data: dict[str, Any]
    kind: str = "file"
    positions: Mapping[Path, tuple[int, int]] = field(default_factory=dict, repr=False)
    #: For `set` and `override` layers: the key each value came from, as written.
    labels: Mapping[Path, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_document(cls, document: LayerDocument) -> Layer:
        return cls(document.name, document.data, "file", document.positions)

    def origin(self, path: Path) -> Origin:
        """Where this layer sets `path` (or the closest enclosing key it sets)."""
        if self.kind == "file":
            line, column = nearest(dict(self.positions), path)
            return Origin(self.name, line, column)
        for end in range(len(path), 0, -1):
            label = self.labels.get(path[:end])
            if label is not None:
                return Origin(f"{self.name} {label}")
        return Origin(self.name)

    def lookup(self, path: Path) -> Any:
        """The value this layer writes at `path`, or `MISSING`."""
        return walk(self.data, path)


def assignments_layer(pairs: Iterable[str], name: str = "--set", kind: str = "set") -> Layer:
    """`key=value` pairs as a layer. Values are typed like YAML (`8080` is a number,
    `[a, b]` a list, `null` deletes the key); `key="8080"` keeps text."""
    data: dict[str, Any] = {}
    labels: dict[Path, str] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise ConfigError(f"expected key=value, got {_shown(pair)}", path=name)
        path = parse_key(key, name)
        set_path(data, path, _typed_value(raw.strip()))
        labels[path] = key.strip()
    return Layer(name, data, kind, labels=labels)


def overrides_layer(overrides: Mapping[str, Any]) -> Layer:
    """The overrides `shipway config set` keeps in the store, as a layer."""
    data: dict[str, Any] = {}
    labels: dict[Path, str] = {}
    for key, value in overrides.items():
        path = parse_key(key, "override")
        set_path(data, path, value)
        labels[path] = key
    return Layer("override", data, "override", labels=labels)


def _typed_value(raw: str) -> Any:
    if raw[:1] in "[{":
        from shipway.config.sources import parse_layer

        try:
            return parse_layer(f"v: {raw}\n", "--set", "yaml").data["v"]
        except ConfigError:
            return raw
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        return raw[1:-1]
    if raw in ("null", "~"):
        return None
    return _typed_scalar(raw) if raw else ""


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def set_path(data: dict[str, Any], path: Path, value: Any) -> None:
    """Set `path` in nested mappings, creating the mappings on the way."""
    target = data
    for part in path[:-1]:
        child = target.get(str(part))
        if not isinstance(child, dict):
            child = target[str(part)] = {}
        target = child
    target[str(path[-1])] = value


def read_file_layers(paths: Sequence[tuple[str, FsPath]]) -> list[Layer]:
    """Parse each `(name, file)` in order."""
    return [Layer.from_document(read_layer(file, name)) for name, file in paths]


def merge(base: Any, override: Any) -> Any:
    """`override` applied to `base` as a JSON Merge Patch; neither is modified."""
    if not isinstance(override, dict):
        return override
    merged = dict(base) if isinstance(base, dict) else {}
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict):
            merged[key] = merge(merged.get(key), value)
        else:
            merged[key] = value
    return merged


def _merge_owned(target: dict[str, Any], override: dict[str, Any]) -> None:
    """`override` merged into `target` in place; every mapping in `target` was made here
    (copied from a layer), so changing it in place changes no layer."""
    # NOTE: most mappings hold only leaves; one C-level update for them is what keeps
    # issue 6's benchmark (100 services x 5 layers x 1,000 keys) inside its budget.
    special = [k for k, v in override.items() if v is None or type(v) is dict]
    if not special:
        target.update(override)
        return
    target.update({k: v for k, v in override.items() if v is not None and type(v) is not dict})
    for key in special:
        value = override[key]
        if value is None:
            target.pop(key, None)
            continue
        existing = target.get(key)
        if type(existing) is dict:
            _merge_owned(existing, value)
        else:
            fresh: dict[str, Any] = {}
            _merge_owned(fresh, value)
            target[key] = fresh


def merge_all(layers: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The layers merged in order, copying each mapping once (not once per layer)."""
    merged: dict[str, Any] = {}
    for data in layers:
        _merge_owned(merged, data)
    return merged


@dataclass(frozen=True)
class Contribution:
    """What one layer did to a key: set it, or delete it (`null`)."""

    layer: Layer
    origin: Origin
    value: Any
    deleted: bool


@dataclass(frozen=True)
class Stack:
    """Layers in order, and their merge."""

    layers: tuple[Layer, ...]
    merged: dict[str, Any]

    @classmethod
    def of(cls, layers: Iterable[Layer]) -> Stack:
        layers = tuple(layers)
        return cls(layers, merge_all(layer.data for layer in layers))

    def origin(self, path: Path) -> Origin:
        """The layer position that decided the value at `path` (the last one to set it)."""
        for layer in reversed(self.layers):
            if layer.lookup(path) is not MISSING:
                return layer.origin(path)
        for end in range(len(path) - 1, -1, -1):
            for layer in reversed(self.layers):
                if layer.lookup(path[:end]) is not MISSING:
                    return layer.origin(path[:end])
        return Origin(self.layers[-1].name if self.layers else "config")

    def contributions(self, path: Path) -> list[Contribution]:
        """Every layer that set or deleted `path` (or replaced a key above it), in order."""
        out: list[Contribution] = []
        for layer in self.layers:
            value = layer.lookup(path)
            if value is not MISSING:
                out.append(Contribution(layer, layer.origin(path), value, value is None))
                continue
            for end in range(len(path) - 1, 0, -1):
                above = layer.lookup(path[:end])
                if above is None or (above is not MISSING and not isinstance(above, dict)):
                    out.append(Contribution(layer, layer.origin(path[:end]), above, True))
                    break
                if above is not MISSING:
                    break
        return out

    def value(self, path: Path) -> Any:
        """The merged value at `path`, or raise KeyError."""
        found = walk(self.merged, path)
        if found is MISSING:
            raise KeyError(dotted(path))
        return found
