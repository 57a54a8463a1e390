"""What the agent watches: the service processes it runs now, and the `monitoring`
section of the manifest each one was released from.

Each running process carries labels (project, environment, service, release) and its
private port; the release names its deployment, whose stored manifest snapshot gives
the environment's monitoring settings as they were when the release was made.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shipway.errors import ShipwayError
from shipway.manifest import load_manifest_text, resolve_environment
from shipway.manifest.monitoring import MonitoringSpec

if TYPE_CHECKING:
    from shipway.runtime.host import ServiceHost
    from shipway.store import Store


@dataclass(frozen=True)
class RunningService:
    """One service process of a release that the agent runs now."""

    project: str
    environment: str
    service: str
    release_id: str
    deployment_id: str
    pid: int | None
    #: The release's own port (scrape here to see this release alone); None without one.
    private_port: int | None
    #: The file the supervisor appends the process's stdout and stderr to.
    log_file: str
    monitoring: MonitoringSpec

    @property
    def base_url(self) -> str | None:
        return None if self.private_port is None else f"http://127.0.0.1:{self.private_port}"


def running_services(store: Store, host: ServiceHost) -> list[RunningService]:
    """Every running service process of this agent, with its monitoring settings. A
    process whose release or manifest cannot be read is left out."""
    found = []
    for status in host.supervisor.status():
        labels = status.labels
        if status.state != "running" or "release" not in labels:
            continue
        try:
            release = store.releases.get(labels["release"])
            spec = release.services.get(labels["service"]) or {}
            monitoring = monitoring_of(store, release.deployment_id, release.environment)
        except ShipwayError:
            continue
        port = labels.get("private_port") or ""
        found.append(
            RunningService(
                project=labels["project"],
                environment=labels["environment"],
                service=labels["service"],
                release_id=labels["release"],
                deployment_id=release.deployment_id,
                pid=status.pid,
                private_port=int(port) if port.isdigit() else None,
                log_file=str(spec.get("log_file", "")),
                monitoring=monitoring,
            )
        )
    return found


def monitoring_of(store: Store, deployment_id: str, environment: str) -> MonitoringSpec:
    """The `monitoring` section of `environment` in the manifest `deployment_id` ran."""
    record = store.deployments.get(deployment_id)
    return _monitoring(record.manifest["source"], record.manifest["path"], environment)


@functools.lru_cache(maxsize=64)
def _monitoring(source: str, path: str, environment: str) -> MonitoringSpec:
    return resolve_environment(load_manifest_text(source, path), environment).monitoring
