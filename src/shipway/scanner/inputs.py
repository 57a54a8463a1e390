"""What a scan of a deployed environment reads from the state store: the resources
recorded for it (as `ResourceDescriptor`s, for the misconfiguration rules) and the
services of its active release (for the runtime scanner). `shipway scan -e ENV` and the
scan stage both use it; without a store, or with a store that records neither, a scan
simply has none."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shipway.models import ResourceDescriptor
from shipway.scanner.runtime.endpoints import ServiceEndpoint, released_services

if TYPE_CHECKING:
    from shipway.store import Store


@dataclass(frozen=True)
class DeployedState:
    resources: tuple[ResourceDescriptor, ...] = ()
    services: tuple[ServiceEndpoint, ...] = ()


def deployed_state(
    store: Store, project: str, environment: str, *, services: bool
) -> DeployedState:
    """The environment's recorded resources, and its released services when `services`."""
    return DeployedState(
        tuple(recorded_resources(store, project, environment)),
        tuple(released_services(store, project, environment)) if services else (),
    )


def recorded_resources(store: Store, project: str, environment: str) -> list[ResourceDescriptor]:
    """The store's descriptors, each with the manifest name it was provisioned from
    (`metadata.manifest_name`) so findings can point at the manifest's line."""
    repository: Any = getattr(store, "resources", None)
    if repository is None or not hasattr(repository, "descriptors"):
        return []
    descriptors: list[ResourceDescriptor] = list(repository.descriptors(project, environment))
    names: dict[tuple[str, str], str] = {}
    if hasattr(repository, "list"):
        for record in repository.list(project, environment):
            names[(record.type, record.resource_id)] = record.name
    out = []
    for descriptor in descriptors:
        name = names.get((descriptor.resource_type, descriptor.resource_id))
        if name is not None:
            metadata = {**descriptor.metadata, "manifest_name": name}
            descriptor = dataclasses.replace(descriptor, metadata=metadata)
        out.append(descriptor)
    return out
