"""Released services as the runtime scanner probes them: the public URL, the processes
that serve it and the ports the manifest declares for it. `released_services` reads them
from the state store: the environment's active release and its service processes."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psutil

if TYPE_CHECKING:
    from shipway.store import Store


@dataclass(frozen=True)
class ServiceEndpoint:
    """One released service. `url` is where its users reach it (`http://host:port`);
    whether it speaks TLS is found out by the probe, since the switching proxy passes
    bytes through. `declared_ports` are the ports it may listen on: the public one and
    the release's private one."""

    service: str
    url: str
    environment: str = ""
    release: str = ""
    #: Processes started for the service; their children count as the service too.
    pids: tuple[int, ...] = ()
    declared_ports: tuple[int, ...] = ()
    #: The name clients use (SNI, certificate match); default: the URL's host.
    hostname: str | None = None


def released_services(store: Store, project: str, environment: str) -> list[ServiceEndpoint]:
    """The services of `environment`'s active release with a public port."""
    from shipway.runtime.release import ServiceRelease

    release = store.releases.active(project, environment)
    if release is None:
        return []
    processes = [
        p for p in store.processes.list(project, environment) if p.release_id == release.id
    ]
    out = []
    for name, data in sorted(release.services.items()):
        service = ServiceRelease.from_dict(data)
        url = service.public_url
        if url is None or service.public_port is None:
            continue
        pids = tuple(p.pid for p in processes if p.service == name and p.pid is not None)
        declared = {service.public_port}
        declared.update(port for pid in pids if (port := private_port(pid)) is not None)
        out.append(
            ServiceEndpoint(
                service=name,
                url=url,
                environment=environment,
                release=release.id,
                pids=pids,
                declared_ports=tuple(sorted(declared)),
            )
        )
    return out


def private_port(pid: int) -> int | None:
    """The private port the runtime gave the process: its `PORT` variable (set for every
    service process; see `ServiceRelease.process_env`). Only that variable is read."""
    with contextlib.suppress(psutil.Error, ValueError):
        port = psutil.Process(pid).environ().get("PORT", "")
        return int(port) if port else None
    return None
