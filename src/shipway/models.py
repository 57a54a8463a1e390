"""Data models shared by every component, with the names of the original architecture
(DESIGN.md section 2). Frozen dataclasses: a stage returns new values, never mutates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class DeploymentContext:
    """Everything a stage knows about the deployment it runs in."""

    deployment_id: str
    environment: str
    correlation_id: str
    user: str
    manifest_digest: str
    component_states: dict[str, dict[str, Any]] = field(default_factory=dict)
    shared_metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployment_id": self.deployment_id,
            "environment": self.environment,
            "correlation_id": self.correlation_id,
            "user": self.user,
            "manifest_digest": self.manifest_digest,
            "component_states": self.component_states,
            "shared_metadata": self.shared_metadata,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeploymentContext:
        return cls(
            deployment_id=data["deployment_id"],
            environment=data["environment"],
            correlation_id=data["correlation_id"],
            user=data["user"],
            manifest_digest=data["manifest_digest"],
            component_states=dict(data.get("component_states") or {}),
            shared_metadata=dict(data.get("shared_metadata") or {}),
        )


@dataclass(frozen=True)
class ResourceDescriptor:
    """One resource the provisioner manages."""

    resource_type: str
    resource_id: str
    configuration: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    health_status: str = "unknown"
    allocated_to: str | None = None


@dataclass(frozen=True)
class ConfigurationDescriptor:
    """One immutable version of an environment's configuration."""

    config_type: str
    config_id: str
    parameters: dict[str, Any] = field(default_factory=dict)
    security_context: dict[str, Any] = field(default_factory=dict)
    version: str = ""
    last_modified: datetime | None = None
