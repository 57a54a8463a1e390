"""The service host: what the agent runs for the services of this machine.

It owns the supervisor (service processes) and one switching proxy per public port, and
publishes what the supervisor sees to the state store (`service_processes`) so that
`shipway status` shows crash loops from any shell. Runtime targets and the release stage
reach it through `current_host()`, in the agent's process.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from shipway.errors import StageError
from shipway.runtime.proxy import Backend, ProxyError, SwitchingProxy
from shipway.runtime.release import PORT_REFERENCE, ServiceRelease, process_name
from shipway.runtime.supervisor import ProcessStatus, Supervisor, SupervisorError
from shipway.store import Store
from shipway.store.records import ServiceProcessRecord, utc_now

log = logging.getLogger(__name__)

PUBLISH_INTERVAL = 0.5
#: At agent start, how long a restarted service may take to get healthy before its
#: public port opens anyway (it is the active release: nothing else could serve).
RESTORE_HEALTH_WAIT = 15.0


@dataclass
class _Route:
    owner: str  # "project/environment/service"
    proxy: SwitchingProxy


class ServiceHost:
    """Service processes and public ports of one agent."""

    def __init__(self, store: Store, executor_id: str, run_dir: Path) -> None:
        self.store = store
        self.executor_id = executor_id
        self.supervisor = Supervisor(run_dir)
        self._routes: dict[tuple[str, int], _Route] = {}
        self._lock = threading.RLock()
        self._published: dict[str, tuple[object, ...]] = {}
        self._publish_lock = threading.Lock()
        self._stop = threading.Event()
        self._publisher = threading.Thread(
            target=self._publish_loop, name="shipway-publish", daemon=True
        )
        self._publisher.start()

    # --- processes ----------------------------------------------------------------------

    def start(
        self, release_id: str, project: str, environment: str, service: ServiceRelease
    ) -> tuple[str, int | None]:
        """Start one service of a release on a fresh private port; (name, port)."""
        name = process_name(release_id, service.service)
        port = free_port() if service.public_port is not None or _uses_port(service) else None
        labels = {
            "project": project,
            "environment": environment,
            "service": service.service,
            "release": release_id,
        }
        self.supervisor.stop(name)  # a leftover of an interrupted attempt
        try:
            self.supervisor.start(service.process_spec(name, port, labels))
        except SupervisorError as exc:
            raise StageError(str(exc)) from exc
        self._publish_now()
        return name, port

    def process(self, name: str) -> ProcessStatus | None:
        found = self.supervisor.status(name)
        return found[0] if found else None

    def stop(self, name: str, timeout: float = 10.0) -> None:
        self.supervisor.stop(name, timeout)
        self._publish_now()

    def processes_of(self, project: str, environment: str) -> list[ProcessStatus]:
        return [
            status
            for status in self.supervisor.status()
            if status.labels.get("project") == project
            and status.labels.get("environment") == environment
        ]

    # --- public ports -------------------------------------------------------------------

    def route(self, owner: str, bind: str, port: int, backend: Backend) -> Backend | None:
        """Point public `bind:port` at `backend` for new connections, starting its proxy
        if needed; the backend it pointed at before."""
        with self._lock:
            route = self._routes.get((bind, port))
            if route is not None and route.owner != owner:
                raise StageError(
                    f"public port {bind}:{port} is already served for {route.owner} by this agent"
                )
            if route is None:
                proxy = SwitchingProxy(bind, port, name=f"{owner}@{port}")
                try:
                    proxy.start()
                except ProxyError as exc:
                    raise StageError(f"cannot listen on public port {bind}:{port}: {exc}") from exc
                route = _Route(owner, proxy)
                self._routes[(bind, port)] = route
        return route.proxy.switch(backend)

    def wait_idle(self, bind: str, port: int, backend: Backend, timeout: float) -> int:
        """Wait for the connections on `backend` to end by themselves; how many remain."""
        with self._lock:
            route = self._routes.get((bind, port))
        return 0 if route is None else route.proxy.wait_idle(backend, timeout)

    def drain(self, bind: str, port: int, backend: Backend, timeout: float) -> int:
        """Wait for the connections still on `backend` to finish; how many were cut."""
        with self._lock:
            route = self._routes.get((bind, port))
        if route is None:
            return 0
        return route.proxy.drain(backend, timeout)

    def unroute(self, bind: str, port: int) -> None:
        """Close a public port (the environment no longer serves anything on it)."""
        with self._lock:
            route = self._routes.pop((bind, port), None)
        if route is not None:
            route.proxy.stop()

    def backend(self, bind: str, port: int) -> Backend | None:
        with self._lock:
            route = self._routes.get((bind, port))
        return None if route is None else route.proxy.backend

    # --- agent lifecycle ----------------------------------------------------------------

    def restore(self) -> list[str]:
        """At agent start: adopt the services a previous agent left, start the active
        releases' services that are not running, and open their public ports again.
        Processes of releases that are no longer active (an interrupted switch) stop."""
        notes: list[str] = []
        adopted = {status.name: status for status in self.supervisor.adopt()}
        wanted: dict[str, tuple[str, str, str, ServiceRelease]] = {}
        for release in self.store.releases.list(statuses=["active"], executor_id=self.executor_id):
            for data in release.services.values():
                service = ServiceRelease.from_dict(data)
                name = process_name(release.id, service.service)
                wanted[name] = (release.id, release.project, release.environment, service)
        for name in sorted(set(adopted) - set(wanted)):
            self.supervisor.stop(name)
            notes.append(f"stopped {name}: its release is not active")
        for name, (release_id, project, environment, service) in sorted(wanted.items()):
            notes.append(self._restore_one(name, release_id, project, environment, service))
        return notes

    def _restore_one(
        self, name: str, release_id: str, project: str, environment: str, service: ServiceRelease
    ) -> str:
        status = self.process(name)
        port_label = status.labels.get("private_port", "") if status is not None else ""
        port: int | None = int(port_label) if port_label else None
        action = "adopted"
        if status is None:
            try:
                name, port = self.start(release_id, project, environment, service)
            except StageError as exc:
                return f"cannot start {name}: {exc}"
            # The public port opens once the process answers, not while it boots.
            healthy = self._await_health(name, service, port)
            action = "started" if healthy else "started (not healthy yet)"
        if service.public_port is not None and port is not None:
            owner = f"{project}/{environment}/{service.service}"
            try:
                self.route(owner, service.bind, service.public_port, ("127.0.0.1", port))
            except StageError as exc:
                return f"{action} {name}, but {exc}"
        return f"{action} {name}"

    def _await_health(self, name: str, service: ServiceRelease, port: int | None) -> bool:
        """Probe a freshly started process until `healthy_after` consecutive passes, for
        at most its `start_timeout` (capped: the agent is not ready until this returns);
        whether it got there."""
        health = service.health
        deadline = time.monotonic() + min(health.start_timeout, RESTORE_HEALTH_WAIT)
        env = service.process_env(port)
        passes = 0
        while time.monotonic() < deadline:
            status = self.process(name)
            if status is None or status.state != "running":
                return False
            passes = passes + 1 if service.probe(port).run(service.cwd, env).ok else 0
            if passes >= health.healthy_after:
                return True
            time.sleep(health.interval if passes else 0.1)
        return False

    def shutdown(self, *, stop_services: bool) -> None:
        """Close every public port; stop the services too, or leave them to be adopted."""
        self._stop.set()
        self._publisher.join(5)
        with self._lock:
            routes = list(self._routes.values())
            self._routes.clear()
        for route in routes:
            with contextlib.suppress(ProxyError):
                route.proxy.stop()
        if stop_services:
            self.supervisor.stop_all()
            with contextlib.suppress(Exception):
                for record in self.store.processes.list(executor_id=self.executor_id):
                    self.store.processes.remove(record.name)
        self.supervisor.close()

    # --- publishing ---------------------------------------------------------------------

    def _publish_loop(self) -> None:
        while not self._stop.wait(PUBLISH_INTERVAL):
            # A store that is briefly unreachable must not stop the loop: next round.
            with contextlib.suppress(Exception):
                self.publish()

    def _publish_now(self) -> None:
        """After a start or stop: the store says so before the stage goes on."""
        with contextlib.suppress(Exception):
            self.publish()

    def publish(self) -> None:
        """Write the states that changed since the last call to the store."""
        with self._publish_lock:
            self._publish()

    def _publish(self) -> None:
        current = {status.name: status for status in self.supervisor.status()}
        for name, status in current.items():
            key = (status.state, status.pid, status.restarts, status.last_exit)
            if self._published.get(name) == key or "release" not in status.labels:
                continue
            self.store.processes.publish(
                ServiceProcessRecord(
                    name=name,
                    project=status.labels["project"],
                    environment=status.labels["environment"],
                    service=status.labels["service"],
                    release_id=status.labels["release"],
                    executor_id=self.executor_id,
                    state=status.state,
                    pid=status.pid,
                    restarts=status.restarts,
                    consecutive_crashes=status.consecutive_crashes,
                    last_exit=status.last_exit,
                    updated_at=utc_now(),
                )
            )
            self._published[name] = key
        for name in set(self._published) - set(current):
            self.store.processes.remove(name)
            del self._published[name]


def _uses_port(service: ServiceRelease) -> bool:
    return PORT_REFERENCE in service.run or any(PORT_REFERENCE in v for v in service.env.values())


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


_current: ServiceHost | None = None


def bind_host(host: ServiceHost | None) -> None:
    """Called by the agent once its service host is up (None when it shuts down)."""
    global _current
    _current = host


def current_host() -> ServiceHost:
    if _current is None:
        raise StageError("this process has no service host: releases run in the shipway agent")
    return _current
