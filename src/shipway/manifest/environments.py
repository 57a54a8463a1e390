"""Environment inheritance: what one environment deploys after `extends` is applied.

The effective sections are the top-level sections with each environment's overrides merged
over them, from the root of the `extends` chain down to the environment itself. Merging
follows JSON Merge Patch (RFC 7386): mappings merge key by key, lists and scalars replace,
and `null` removes a key. See docs/decisions/0007-manifest-environments.md.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from shipway.manifest.consistency import EnvironmentView, tested_service
from shipway.manifest.models import (
    OVERRIDABLE_SECTIONS,
    EnvironmentSpec,
    IntegrationTestsSpec,
    Manifest,
    ResourceSpec,
    extends_chain,
)
from shipway.manifest.monitoring import MonitoringSpec
from shipway.manifest.requirements import RequirementsSpec
from shipway.manifest.sections import ConfigSpec, SecuritySpec
from shipway.manifest.services import ServiceSpec


@dataclass(frozen=True)
class ResolvedEnvironment:
    """One environment with inheritance applied: what a deployment of it uses."""

    name: str
    spec: EnvironmentSpec
    chain: list[str]
    requirements: RequirementsSpec
    resources: dict[str, ResourceSpec]
    config: ConfigSpec
    services: dict[str, ServiceSpec]
    security: SecuritySpec
    tests: IntegrationTestsSpec
    monitoring: MonitoringSpec
    tested_service: str | None
    written: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def variables(self) -> dict[str, Any]:
        """The environment's variables, merged along the `extends` chain."""
        return self.spec.variables

    def section(self, name: str) -> dict[str, Any]:
        """Section `name` as written for this environment (top level merged with the
        overrides), without defaults: empty when the manifest does not configure it."""
        if name not in OVERRIDABLE_SECTIONS:
            known = ", ".join(OVERRIDABLE_SECTIONS)
            raise KeyError(f"{name!r} is not an environment section (one of: {known})")
        return copy.deepcopy(dict(self.written.get(name) or {}))


def merge_override(base: Any, override: Any) -> Any:
    """`override` applied to `base` as a JSON Merge Patch (RFC 7386)."""
    if not isinstance(override, dict):
        return override
    merged = dict(base) if isinstance(base, dict) else {}
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_override(merged.get(key), value)
    return merged


def view_data(manifest: Manifest, name: str) -> dict[str, Any]:
    """The unvalidated data of `name`'s `EnvironmentView`: merged environment and sections.

    Layers are the validated models dumped back to their YAML shape (only the keys that were
    written), so validation of the merge sees what a user would have written by hand.
    """
    chain = extends_chain(manifest.environments, name)
    top = manifest.model_dump(
        mode="json", by_alias=True, exclude_unset=True, include=set(OVERRIDABLE_SECTIONS)
    )
    environment: dict[str, Any] = {}
    for ancestor in reversed(chain):
        layer = manifest.environments[ancestor].model_dump(mode="json", exclude_unset=True)
        layer.pop("extends", None)
        environment = merge_override(environment, layer)
        for section in OVERRIDABLE_SECTIONS:
            if layer.get(section) is not None:
                top[section] = merge_override(top.get(section), layer[section])
    if manifest.environments[name].extends is not None:
        environment["extends"] = manifest.environments[name].extends
    return {"environment": environment, **top}


def resolve(manifest: Manifest, name: str) -> ResolvedEnvironment:
    """`name` resolved; raises pydantic's ValidationError when the merge is invalid."""
    data = view_data(manifest, name)
    view = EnvironmentView.model_validate(data)
    return ResolvedEnvironment(
        name=name,
        spec=view.environment,
        chain=extends_chain(manifest.environments, name),
        requirements=view.requirements,
        resources=view.resources,
        config=view.config,
        services=view.services,
        security=view.security,
        tests=view.tests,
        monitoring=view.monitoring,
        tested_service=tested_service(view),
        written=MappingProxyType({k: v for k, v in data.items() if k != "environment"}),
    )


def resolve_all(manifest: Manifest) -> Mapping[str, ResolvedEnvironment]:
    """Every environment, in file order."""
    return {name: resolve(manifest, name) for name in manifest.environments}
