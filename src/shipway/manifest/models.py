"""The whole manifest: `Manifest`, `EnvironmentSpec`, and every section model re-exported.

Sections live in their own modules (one per component that consumes them); this module ties
them together and owns the rules that span environments (`extends` must name an existing
environment and must not loop).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from shipway.manifest.fields import (
    ManifestModel,
    ModelProblem,
    Name,
    SshUrl,
    VariableName,
    did_you_mean,
)
from shipway.manifest.monitoring import (
    AlertRule,
    AnalysisMetric,
    AnalysisSpec,
    LogSource,
    MonitoringSpec,
    NotifyChannel,
    ScrapeTarget,
)
from shipway.manifest.pipeline import PipelineSpec, StagePolicy
from shipway.manifest.requirements import (
    CommandRequirement,
    HardwareRequirements,
    HttpCheck,
    NotRootCheck,
    PathModeCheck,
    PortFreeCheck,
    PythonPackageRequirement,
    RequirementsSpec,
    TcpCheck,
)
from shipway.manifest.sections import (
    ConfigSpec,
    GithubIntegration,
    IgnoreRule,
    IntegrationsSpec,
    ResourceSpec,
    SecretsSpec,
    SecuritySpec,
    SupabaseIntegration,
)
from shipway.manifest.services import HealthCheck, Limits, ServiceSpec
from shipway.manifest.testing import (
    ApiExpectation,
    ApiTest,
    ContractTests,
    E2EStep,
    E2ETest,
    FillAction,
    IntegrationTestsSpec,
    LoadSlo,
    LoadTest,
    RequestSpec,
)

SUPPORTED_VERSION = 1

#: Top-level sections an environment may override (deep-merged over the top level).
OVERRIDABLE_SECTIONS = (
    "requirements",
    "resources",
    "config",
    "services",
    "security",
    "tests",
    "monitoring",
)

_OVERRIDE = "Partial `{0}` deep-merged over the top-level `{0}` (maps merge key by key, lists "
_OVERRIDE += "replace, null removes a key)."


def _override(section: str) -> Any:
    return Field(None, description=_OVERRIDE.format(section))


class EnvironmentSpec(ManifestModel):
    """One deployment environment. Everything not named here is inherited from `extends`
    (or from the top level)."""

    extends: Name | None = Field(None, description="Environment to inherit from.")
    target: Literal["local", "ssh"] = Field(
        "local",
        description="Where services run: `local` (the agent on this machine) or `ssh` "
        "(the agent on each of `hosts`).",
    )
    approval: Literal["required", "none"] = Field(
        "none", description="`required`: the release waits for `shipway approve <id>`."
    )
    hosts: list[SshUrl] = Field(
        default_factory=list, description="`ssh://[user@]host[:port]` URLs for target `ssh`."
    )
    variables: dict[VariableName, Any] = Field(
        default_factory=dict, description="Values for `${name}` references in this environment."
    )
    requirements: dict[str, Any] | None = _override("requirements")
    resources: dict[str, Any] | None = _override("resources")
    config: dict[str, Any] | None = _override("config")
    services: dict[str, Any] | None = _override("services")
    security: dict[str, Any] | None = _override("security")
    tests: dict[str, Any] | None = _override("tests")
    monitoring: dict[str, Any] | None = _override("monitoring")


class Manifest(ManifestModel):
    """A `shipway.yaml` file: one project, its environments, and how to deploy it."""

    version: Literal[1] = Field(description="Manifest format version; only 1 exists.")
    project: Name = Field(description="Project name; used in resource and release names.")
    environments: dict[Name, EnvironmentSpec] = Field(
        min_length=1, description="Deployment environments by name."
    )
    requirements: RequirementsSpec = Field(
        default_factory=RequirementsSpec, description="Checks of the validate stage."
    )
    resources: dict[Name, ResourceSpec] = Field(
        default_factory=dict, description="Resources of the provision stage, by name."
    )
    config: ConfigSpec = Field(
        default_factory=ConfigSpec, description="Configuration of the configure stage."
    )
    services: dict[Name, ServiceSpec] = Field(
        default_factory=dict, description="Services released by the runtime target, by name."
    )
    security: SecuritySpec = Field(
        default_factory=SecuritySpec, description="Policy of the scan stage."
    )
    tests: IntegrationTestsSpec = Field(
        default_factory=IntegrationTestsSpec, description="Tests of the test stage."
    )
    monitoring: MonitoringSpec = Field(
        default_factory=MonitoringSpec, description="Monitoring and the observe stage."
    )
    integrations: IntegrationsSpec = Field(
        default_factory=IntegrationsSpec, description="State storage and outside services."
    )
    pipeline: PipelineSpec = Field(
        default_factory=PipelineSpec, description="Stage plugins, order and policies."
    )

    @model_validator(mode="before")
    @classmethod
    def _empty_sections_are_defaults(cls, data: Any) -> Any:
        # NOTE: `resources:` with every entry commented out is null in YAML; treat it as
        # "no resources" rather than a type error.
        # Likewise `dev:` with nothing under it is an environment with no settings.
        if not isinstance(data, dict):
            return data
        optional = (*OVERRIDABLE_SECTIONS, "integrations", "pipeline")
        cleaned = {k: v for k, v in data.items() if not (k in optional and v is None)}
        envs = cleaned.get("environments")
        if isinstance(envs, dict):
            cleaned["environments"] = {k: {} if v is None else v for k, v in envs.items()}
        return cleaned

    @field_validator("version", mode="before")
    @classmethod
    def _supported_version(cls, value: Any) -> Any:
        if type(value) is not int or value != SUPPORTED_VERSION:
            raise ValueError(
                f"unsupported manifest version {value!r}: this shipway reads version "
                f"{SUPPORTED_VERSION}"
            )
        return value

    @model_validator(mode="after")
    def _check_extends(self) -> Manifest:
        envs = self.environments
        for name, env in envs.items():
            if env.extends is not None and env.extends not in envs:
                hint = did_you_mean(env.extends, list(envs))
                raise ModelProblem(
                    f"unknown environment {env.extends!r}{hint}",
                    ("environments", name, "extends"),
                )
        for name in envs:
            chain = extends_chain(envs, name)
            loop_to = envs[chain[-1]].extends
            if loop_to is not None:  # the chain stopped at a name it already holds
                cycle = [*chain[chain.index(loop_to) :], loop_to]
                raise ModelProblem(
                    "environments extend each other in a cycle: " + " -> ".join(cycle),
                    ("environments", cycle[0], "extends"),
                )
        return self


def extends_chain(envs: dict[str, EnvironmentSpec], name: str) -> list[str]:
    """`name`, its parent, its grandparent, ...; stops before the first repeated name."""
    chain = [name]
    parent = envs[name].extends
    while parent is not None and parent in envs and parent not in chain:
        chain.append(parent)
        parent = envs[parent].extends
    return chain


__all__ = [
    "OVERRIDABLE_SECTIONS",
    "SUPPORTED_VERSION",
    "AlertRule",
    "AnalysisMetric",
    "AnalysisSpec",
    "ApiExpectation",
    "ApiTest",
    "CommandRequirement",
    "ConfigSpec",
    "ContractTests",
    "E2EStep",
    "E2ETest",
    "EnvironmentSpec",
    "FillAction",
    "GithubIntegration",
    "HardwareRequirements",
    "HealthCheck",
    "HttpCheck",
    "IgnoreRule",
    "IntegrationTestsSpec",
    "IntegrationsSpec",
    "Limits",
    "LoadSlo",
    "LoadTest",
    "LogSource",
    "Manifest",
    "MonitoringSpec",
    "NotRootCheck",
    "NotifyChannel",
    "PathModeCheck",
    "PipelineSpec",
    "PortFreeCheck",
    "PythonPackageRequirement",
    "RequestSpec",
    "RequirementsSpec",
    "ResourceSpec",
    "ScrapeTarget",
    "SecretsSpec",
    "SecuritySpec",
    "ServiceSpec",
    "StagePolicy",
    "SupabaseIntegration",
    "TcpCheck",
    "extends_chain",
]
