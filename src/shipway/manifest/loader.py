"""Loading a manifest: file to validated `Manifest`, every environment resolved, a digest.

This is the only entry point that reads user input, so it owns the promise that nothing but
a one-line `ManifestError` with `file:line:col` escapes, whatever the bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError
from yaml.nodes import MappingNode, Node

from shipway.errors import ManifestError
from shipway.manifest import nodes, source
from shipway.manifest.diagnostics import manifest_error, shown
from shipway.manifest.environments import ResolvedEnvironment, resolve
from shipway.manifest.fields import did_you_mean
from shipway.manifest.models import SUPPORTED_VERSION, Manifest, extends_chain


@dataclass(frozen=True)
class LoadedManifest:
    """A validated manifest, where it came from, and its content digest."""

    path: Path
    manifest: Manifest
    digest: str
    source_text: str
    environments: Mapping[str, ResolvedEnvironment] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False
    )

    def resolve_path(self, relative: str) -> Path:
        """`relative` resolved against the manifest's folder; refused if it leaves it."""
        root = self.path.parent.resolve()
        target = (root / relative).resolve()
        if not target.is_relative_to(root):
            raise ManifestError(f"path {relative!r} leaves the manifest's folder", path=self.path)
        return target


def load_manifest(path: Path | str) -> LoadedManifest:
    """Read, validate and resolve the manifest at `path`."""
    path = Path(path)
    try:
        text = source.decode_manifest(source.read_manifest_bytes(path), str(path))
    except ManifestError:
        raise
    except Exception as e:  # the promise: only ManifestError leaves this function
        raise ManifestError(f"cannot read manifest: {type(e).__name__}", path=path) from e
    return load_manifest_text(text, str(path))


def load_manifest_text(text: str, path: str) -> LoadedManifest:
    """Validate and resolve manifest `text`; `path` is used in error messages."""
    try:
        return _load(text, path)
    except ManifestError:
        raise
    except RecursionError as e:
        raise ManifestError("the manifest is nested too deeply", path=path) from e
    except Exception as e:  # pragma: no cover - a bug; still never a traceback for users
        raise ManifestError(
            f"internal error while loading the manifest ({type(e).__name__}); please report it",
            path=path,
        ) from e


def _load(text: str, path: str) -> LoadedManifest:
    root = source.compose_manifest(text, path)
    if root is None:
        raise ManifestError(
            "the manifest is empty; it needs at least 'version', 'project' and 'environments'",
            path=path,
            line=1,
            column=1,
        )
    if not isinstance(root, MappingNode):
        raise nodes.error_at(
            root, "the top level must be a mapping of keys such as 'version'", path
        )
    nodes.measure(root, path)
    data = nodes.to_data(root, path)
    _check_version(data, root, path)
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as e:
        raise manifest_error(e, [root], path) from e
    resolved = _resolve_environments(manifest, root, path)
    return LoadedManifest(
        path=Path(path),
        manifest=manifest,
        digest=manifest_digest(manifest),
        source_text=text,
        environments=MappingProxyType(resolved),
    )


def _check_version(data: dict[str, Any], root: Node, path: str) -> None:
    # Checked before anything else: a manifest for another version is not worth reporting
    # unknown keys about.
    if "version" not in data:
        return
    version = data["version"]
    if type(version) is int and version == SUPPORTED_VERSION:
        return
    if type(version) is int:
        reason = f"unsupported manifest version {version}: this shipway reads version "
        reason += str(SUPPORTED_VERSION)
    else:
        reason = f"version must be the number {SUPPORTED_VERSION}, got {shown(version)}"
    raise nodes.error_at(nodes.locate(root, ("version",)).node, reason, path)


def _resolve_environments(
    manifest: Manifest, root: Node, path: str
) -> dict[str, ResolvedEnvironment]:
    resolved = {}
    for name in manifest.environments:
        try:
            resolved[name] = resolve(manifest, name)
        except ValidationError as e:
            chain = extends_chain(manifest.environments, name)
            layers = [root]
            layers += [nodes.locate(root, ("environments", env)).node for env in reversed(chain)]
            raise manifest_error(e, layers, path, context=f"environment '{name}': ") from e
    return resolved


def manifest_digest(manifest: Manifest) -> str:
    """`sha256:<hex>` of the manifest's canonical JSON: comments, layout and key order in
    the file do not change it; any value does."""
    canonical = json.dumps(
        manifest.model_dump(mode="json", by_alias=True),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def resolve_environment(loaded: LoadedManifest, name: str) -> ResolvedEnvironment:
    """The environment `name` of a loaded manifest, with inheritance applied."""
    known = list(loaded.manifest.environments)
    if name not in known:
        raise ManifestError(
            f"unknown environment {name!r}{did_you_mean(name, known)}; defined: {', '.join(known)}",
            path=loaded.path,
        )
    if name in loaded.environments:
        return loaded.environments[name]
    try:
        return resolve(loaded.manifest, name)
    except ValidationError as e:
        # Only reachable for a LoadedManifest built by hand, so there are no YAML positions.
        reason = e.errors()[0]["msg"]
        raise ManifestError(f"environment {name!r} is invalid: {reason}", path=loaded.path) from e
