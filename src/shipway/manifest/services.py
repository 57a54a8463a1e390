"""The `services` section: long-running processes the runtime target releases.

A service is a command, the public port the switching proxy listens on, and the health check
that decides when traffic may move to a new release.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from shipway.manifest.fields import Duration, ManifestModel, ProjectPath, Size, VariableName


def _scalar_to_text(value: Any) -> Any:
    # NOTE: `PORT: 8080` is the natural way to write an environment variable; the process
    # sees text anyway, so numbers and booleans are turned into their YAML spelling.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


EnvValue = Annotated[
    str,
    BeforeValidator(_scalar_to_text),
    WithJsonSchema({"type": ["string", "number", "boolean"]}),
]


class HealthCheck(ManifestModel):
    """How the runtime decides that a release is healthy."""

    http: str | None = Field(
        None,
        pattern=r"^/",
        description="Path requested on the release's private port; any 2xx passes. Without "
        "`http` or `command`, the check is that the process runs and its private port "
        "accepts TCP connections.",
    )
    command: str | None = Field(
        None,
        min_length=1,
        description="Shell command run in the release's folder with the service's "
        "environment (`${port}` is the private port); exit code 0 passes.",
    )
    interval: Duration = Field("1s", validate_default=True, description="Time between checks.")
    timeout: Duration = Field("2s", validate_default=True, description="Timeout of one check.")
    healthy_after: int = Field(
        2, ge=1, description="Consecutive passes before traffic moves to the release."
    )
    start_timeout: Duration = Field(
        "60s",
        validate_default=True,
        description="How long a new release may take to become healthy before it is "
        "declared failed and the old release keeps serving.",
    )

    @model_validator(mode="after")
    def _one_probe(self) -> HealthCheck:
        if self.http is not None and self.command is not None:
            raise ValueError("give either `http` or `command`, not both")
        return self


class Limits(ManifestModel):
    """Resource limits of one service process."""

    memory: Size | None = Field(None, description="Memory limit.")
    cpus: float | None = Field(None, gt=0, description="CPU limit, in cores (0.5 = half).")


class ServiceSpec(ManifestModel):
    """One long-running process."""

    run: str = Field(
        min_length=1,
        description="Command line; `${port}` is the private port chosen for each release.",
    )
    workdir: ProjectPath = Field(".", description="Folder to run in, relative to the manifest.")
    port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Public port the switching proxy listens on; none for a worker process.",
    )
    bind: str = Field(
        "127.0.0.1",
        min_length=1,
        description="Address the public port listens on: `0.0.0.0` or `::` for every interface.",
    )
    health: HealthCheck = Field(default_factory=HealthCheck, description="Health check.")
    env: dict[VariableName, EnvValue] = Field(
        default_factory=dict, description="Environment variables; values may use references."
    )
    limits: Limits = Field(default_factory=Limits, description="Resource limits.")
    drain_timeout: Duration = Field(
        "30s",
        validate_default=True,
        description="How long connections still open on the old release may finish after "
        "the switch before they are closed and the old release is stopped.",
    )
    keep_releases: int = Field(
        5, ge=1, le=100, description="Releases kept on disk for instant rollback."
    )
