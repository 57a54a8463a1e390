"""The smaller manifest sections: `resources`, `config`, `security` and `integrations`.

Resource entries are the one place where unknown keys are allowed: resource types are
provider plugins, and each provider validates its own attributes at plan time.
"""

from __future__ import annotations

import datetime
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, WithJsonSchema, model_validator

from shipway.manifest.fields import (
    FileMode,
    HttpUrl,
    ManifestModel,
    ModelProblem,
    Name,
    ProjectPath,
)
from shipway.manifest.references import has_reference

RESOURCE_TYPE_PATTERN = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"
ATTRIBUTE_PATTERN = r"^[a-z][a-z0-9_]*$"


def _check_resource_type(value: str) -> str:
    if not re.fullmatch(RESOURCE_TYPE_PATTERN, value):
        raise ValueError(
            f"invalid resource type {value[:60]!r}: write it as family.kind, "
            "e.g. 'postgres.database'"
        )
    return value


ResourceType = Annotated[
    str,
    AfterValidator(_check_resource_type),
    WithJsonSchema({"type": "string", "pattern": RESOURCE_TYPE_PATTERN}),
]


class ResourceSpec(ManifestModel):
    """One resource the provisioner manages. Keys other than the common ones below are the
    provider's attributes (e.g. `server`, `owner_role` for `postgres.database`)."""

    model_config = ConfigDict(extra="allow")

    type: ResourceType = Field(description="Provider and kind, e.g. `postgres.database`.")
    depends_on: list[Name] = Field(
        default_factory=list, description="Resources that must exist before this one."
    )
    prevent_destroy: bool = Field(
        False, description="Refuse to destroy this resource, even on `provision destroy`."
    )

    @model_validator(mode="after")
    def _check_attribute_names(self) -> ResourceSpec:
        for key in self.model_extra or {}:
            if not re.fullmatch(ATTRIBUTE_PATTERN, key):
                raise ModelProblem(
                    f"invalid attribute name {key[:60]!r}: use lowercase letters, digits and '_'",
                    (key,),
                    at_key=True,
                )
        return self

    @property
    def attributes(self) -> dict[str, Any]:
        """The provider-specific attributes: every key except the common ones."""
        return dict(self.model_extra or {})


class SecretsSpec(ManifestModel):
    """Where `${secret:...}` references are read from."""

    backend: Name = Field(
        "local",
        description="Secret backend: `local` (encrypted vault under `.shipway/secrets/`), "
        "`env`, `file`, `aws`, `vault`, or a plugin's name.",
    )
    settings: dict[str, Any] = Field(
        default_factory=dict, description="Backend-specific settings (address, region, ...)."
    )


class LayerSpec(ManifestModel):
    """A layer given as a mapping, to mark it optional."""

    path: ProjectPath = Field(description="The layer file; may use `${environment}`.")
    optional: bool = Field(False, description="Skip the layer when the file does not exist.")


class ReloadSpec(ManifestModel):
    """How a running service picks up a configuration pushed with `config apply --live`."""

    signal: Literal["HUP", "USR1", "USR2"] | None = Field(
        None, description="Signal sent to the service's process after its config file changes."
    )
    url: str | None = Field(
        None,
        pattern=r"^/",
        description="Path POSTed on the service's private port after its config file changes.",
    )


def _check_relative_name(value: str) -> str:
    parts = value.split("/")
    if value.startswith("/") or any(part in {"", ".", ".."} for part in parts):
        raise ValueError(
            f"invalid file name {value[:60]!r}: a relative path inside the service's "
            "configuration folder, without '.' or '..' parts"
        )
    return value


class ConfigFileSpec(ManifestModel):
    """A file rendered from a Jinja2 template for one service when its process starts."""

    template: ProjectPath = Field(
        description="Jinja2 template (sandboxed) with `config` (the merged configuration, "
        "secrets filled in), `project`, `environment` and `service` in scope."
    )
    service: Name = Field(description="The service that receives the file.")
    path: Annotated[str, AfterValidator(_check_relative_name)] = Field(
        description="Where the file goes inside the service's private configuration folder "
        "(`${config_dir}`, also in `SHIPWAY_CONFIG_DIR`)."
    )
    mode: FileMode = Field("0600", description='File mode, in octal (quoted: "0640").')


class ConfigSpec(ManifestModel):
    """Layered application configuration, applied by the configure stage."""

    layers: list[ProjectPath | LayerSpec] = Field(
        default_factory=list,
        description="YAML, TOML, JSON or `.env` files merged in order; later layers override "
        "earlier ones key by key (maps merge, lists replace, null deletes). May use "
        "`${environment}`; `{path: ..., optional: true}` skips a missing file.",
    )
    schema_: ProjectPath | None = Field(
        None, alias="schema", description="JSON Schema the merged configuration must satisfy."
    )
    secrets: SecretsSpec = Field(default_factory=SecretsSpec, description="Secret storage.")
    allow_plaintext: list[str] = Field(
        default_factory=list,
        description="Dotted keys the plain-text secret lint leaves alone (named like a "
        "credential but not one).",
    )
    git: ProjectPath | None = Field(
        None,
        description="A git repository (created if missing) that gets one commit per "
        "configuration version.",
    )
    reload: dict[Name, ReloadSpec] = Field(
        default_factory=dict,
        description="Per service: how `shipway config apply --live` makes it reload.",
    )
    files: list[ConfigFileSpec] = Field(
        default_factory=list,
        description="Files rendered from templates into each service's private "
        "configuration folder at every process start, and removed when it stops.",
    )


Severity = Literal["critical", "high", "medium", "low"]


class IgnoreRule(ManifestModel):
    """A finding the team accepted, with the reason and an optional end date."""

    id: str = Field(min_length=1, description="Finding id, e.g. `PYSEC-2023-74`.")
    reason: str = Field(min_length=1, description="Why the finding does not apply.")
    expires: datetime.date | None = Field(
        None, description="After this date (YYYY-MM-DD) the finding counts again."
    )


class SecuritySpec(ManifestModel):
    """What the scan stage looks for and what blocks a release."""

    fail_on: Severity = Field(
        "high", description="Findings at or above this severity block the release."
    )
    scanners: list[Name] = Field(
        default_factory=lambda: ["dependencies", "secrets", "misconfiguration", "code"],
        description="Scanners to run: `dependencies`, `secrets`, `misconfiguration`, `code`, "
        "`runtime`, or a plugin's name.",
    )
    compliance: list[Name] = Field(
        default_factory=list, description="Frameworks to map findings to, e.g. `soc2`, `gdpr`."
    )
    vulnerability_db: str = Field(
        "osv", min_length=1, description="`osv` (the online API) or a path to an OSV export."
    )
    ignore: list[IgnoreRule] = Field(default_factory=list, description="Accepted findings.")
    baseline: ProjectPath | None = Field(
        None,
        description="A baseline file (`shipway scan --baseline write`): the findings it "
        "lists are set aside and only new ones can block.",
    )


def _check_secret_reference(value: str) -> str:
    # NOTE: DESIGN.md section 6: credentials never sit in a file in plain text.
    if not re.fullmatch(r"\$\{[^}]+\}", value):
        raise ValueError(
            "credentials must be a reference such as '${secret:github_token}', not a literal"
        )
    return value


SecretRef = Annotated[
    str,
    AfterValidator(_check_secret_reference),
    WithJsonSchema({"type": "string", "pattern": r"^\$\{[^}]+\}$"}),
]


def _check_state_url(value: str) -> str:
    if value == "sqlite" or has_reference(value):
        return value
    if not re.match(r"(sqlite|postgresql|postgres)(\+\w+)?://", value):
        raise ValueError(
            f"invalid state {value[:60]!r}: use 'sqlite', sqlite:///path or postgresql://..."
        )
    return value


class GithubIntegration(ManifestModel):
    """Report deployments and scan results to a GitHub repository."""

    repo: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", description="`owner/name`.")
    token: SecretRef | None = Field(None, description="Reference to an API token.")
    deployments: bool = Field(
        True, description="Create GitHub Deployments whose status follows the pipeline."
    )
    sarif: bool = Field(False, description="Upload scan results to code scanning as SARIF.")


class SupabaseIntegration(ManifestModel):
    """A Supabase project used for state, storage or authentication."""

    url: HttpUrl = Field(description="Project URL, e.g. `https://xyz.supabase.co`.")
    service_key: SecretRef | None = Field(None, description="Reference to the service key.")


class IntegrationsSpec(ManifestModel):
    """Where state lives and which outside services shipway talks to."""

    state: Annotated[str, AfterValidator(_check_state_url)] = Field(
        "sqlite",
        description="`sqlite` (under `.shipway/`), or a `postgresql://` URL (a Supabase "
        "database works).",
    )
    github: GithubIntegration | None = Field(None, description="GitHub integration.")
    supabase: SupabaseIntegration | None = Field(None, description="Supabase integration.")
