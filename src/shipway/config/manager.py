"""`ConfigurationManager`: one environment's configuration, from its layers to a checked,
resolved result: layers read and merged, references resolved, the plain-text secret lint,
the JSON Schema, and the explanation of where any key's value came from."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from shipway.config import lint, templates, validation
from shipway.config.errors import ConfigError
from shipway.config.interpolation import REFERENCE, Resolved, Scope, resolve
from shipway.config.layers import (
    MISSING,
    Contribution,
    Layer,
    Stack,
    assignments_layer,
    overrides_layer,
    read_file_layers,
)
from shipway.config.origins import Origin, Path, dotted, parse_key
from shipway.config.secrets import SecretBackend, open_backend
from shipway.config.validation import ConfigSchema
from shipway.config.versions import ConfigVersion, leaves
from shipway.errors import ManifestError
from shipway.manifest import LoadedManifest, ResolvedEnvironment
from shipway.manifest import nodes as manifest_nodes
from shipway.manifest import source as manifest_source
from shipway.manifest.sections import ConfigSpec, LayerSpec


@dataclass(frozen=True)
class Explanation:
    """Where one key's value came from: the deciding layer, and every layer that touched it."""

    key: str
    value: Any
    origin: Origin
    written: Any
    contributions: list[Contribution]
    secrets: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "value": self.value,
            "from": str(self.origin),
            "written": self.written,
            "secrets": list(self.secrets),
            "layers": [
                {
                    "layer": c.layer.name,
                    "at": str(c.origin),
                    "deleted": c.deleted,
                    "value": None if c.deleted else c.value,
                }
                for c in self.contributions
            ],
        }


@dataclass(frozen=True)
class Resolution:
    """A resolved configuration and what it was made of."""

    stack: Stack
    resolved: Resolved
    files: tuple[templates.TemplateFile, ...] = ()

    def version(self) -> ConfigVersion:
        return ConfigVersion.of(self.resolved, self.files)

    def explain(self, key: str) -> list[Explanation]:
        """One explanation per leaf at or under `key`."""
        path = _existing(self.stack, parse_key(key, "--explain"))
        value = _at(self.resolved.values, path)
        out = []
        for leaf, leaf_value in leaves(value, path):
            template = self.resolved.templates.get(leaf)
            written = next(
                (
                    found
                    for layer in reversed(self.stack.layers)
                    if (found := layer.lookup(leaf)) is not MISSING
                ),
                None,
            )
            out.append(
                Explanation(
                    key=dotted(leaf),
                    value=leaf_value,
                    origin=self.stack.origin(leaf),
                    written=written if isinstance(written, str) and "${" in written else None,
                    contributions=self.stack.contributions(leaf),
                    secrets=template.secrets if template else (),
                )
            )
        return out


def _existing(stack: Stack, path: Path) -> Path:
    """`path` with list indices as numbers, or a ConfigError naming the key."""
    out: list[str | int] = []
    node: Any = stack.merged
    for part in path:
        if isinstance(node, list) and str(part).isdigit() and int(part) < len(node):
            out.append(int(part))
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        else:
            raise ConfigError(f"no key {dotted(path)!r} in the configuration", path="--explain")
    return tuple(out)


def _at(value: Any, path: Path) -> Any:
    for part in path:
        value = value[part]
    return value


class ConfigurationManager:
    """The configuration of one environment of a loaded manifest."""

    def __init__(
        self,
        loaded: LoadedManifest,
        environment: ResolvedEnvironment,
        home: FsPath,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.loaded = loaded
        self.environment = environment
        self.home = home
        self.env = dict(os.environ if env is None else env)

    @property
    def spec(self) -> ConfigSpec:
        return self.environment.config

    @property
    def project(self) -> str:
        return self.loaded.manifest.project

    @property
    def base_dir(self) -> FsPath:
        return self.loaded.path.parent

    def backend(self) -> SecretBackend:
        """The environment's secret backend."""
        secrets = self.spec.secrets
        return open_backend(
            secrets.backend,
            project=self.project,
            environment=self.environment.name,
            base_dir=self.base_dir,
            home=self.home,
            settings=secrets.settings,
            env=self.env,
        )

    # --- layers ---------------------------------------------------------------------

    def layer_files(self) -> list[tuple[str, FsPath]]:
        """`(name, file)` of each layer that applies, `${environment}` filled in."""
        out = []
        for index, entry in enumerate(self.spec.layers):
            spec = entry if isinstance(entry, LayerSpec) else LayerSpec(path=entry)
            name = self._expand(spec.path, index)
            try:
                file = self.loaded.resolve_path(name)
            except ManifestError as e:
                raise self._manifest_error(index, e.reason) from e
            if spec.optional and not file.exists():
                continue
            out.append((name, file))
        return out

    def _expand(self, path: str, index: int) -> str:
        values = {"environment": self.environment.name, "project": self.project}

        def replace(match: Any) -> str:
            name = match.group(1)
            if name is None:
                return "${"
            if name not in values:
                raise self._manifest_error(
                    index, f"a layer path may use ${{environment}} or ${{project}}, not ${{{name}}}"
                )
            return values[name]

        return REFERENCE.sub(replace, path)

    def _manifest_error(self, index: int, reason: str) -> ManifestError:
        """An error at `config.layers[index]` in the manifest (as the environment sees it)."""
        path = str(self.loaded.path)
        try:
            root = manifest_source.compose_manifest(self.loaded.source_text, path)
        except ManifestError:
            root = None
        if root is not None:
            for loc in (
                ("environments", self.environment.name, "config", "layers", index),
                ("config", "layers", index),
            ):
                found = manifest_nodes.locate(root, loc)
                if found.matched == loc:
                    line, column = manifest_nodes.position(found.node)
                    return ManifestError(reason, path=path, line=line, column=column)
        return ManifestError(f"config.layers[{index}]: {reason}", path=path)

    def layers(
        self, sets: Iterable[str] = (), overrides: Mapping[str, Any] | None = None
    ) -> list[Layer]:
        out = read_file_layers(self.layer_files())
        if overrides:
            out.append(overrides_layer(overrides))
        sets = list(sets)
        if sets:
            out.append(assignments_layer(sets))
        return out

    def schema(self) -> ConfigSchema | None:
        if self.spec.schema_ is None:
            return None
        try:
            file = self.loaded.resolve_path(self.spec.schema_)
        except ManifestError as e:
            raise ConfigError(e.reason, path=self.spec.schema_) from e
        return ConfigSchema.read(file, self.spec.schema_)

    # --- resolution -----------------------------------------------------------------

    def scope(self, resources: Mapping[str, Mapping[str, Any]] | None) -> Scope:
        return Scope(
            environment=self.environment.name,
            project=self.project,
            variables=dict(self.environment.variables),
            resources=resources,
            env=self.env,
        )

    def resolve(
        self,
        *,
        sets: Iterable[str] = (),
        overrides: Mapping[str, Any] | None = None,
        resources: Mapping[str, Mapping[str, Any]] | None = None,
        check: bool = True,
    ) -> Resolution:
        """Merge, resolve and (with `check`) lint and validate the configuration."""
        stack = Stack.of(self.layers(sets, overrides))
        resolved = resolve(stack, self.scope(resources))
        files = templates.load(self.spec.files, self.base_dir)
        if check:
            lint.check(stack, resolved, self.spec.allow_plaintext)
            validation.check(self.schema(), resolved, stack)
            templates.check(
                files,
                resolved.values,
                project=self.project,
                env=self.environment.name,
                base_dir=self.base_dir,
            )
        return Resolution(stack, resolved, tuple(files))
