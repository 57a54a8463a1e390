"""The `local` target: a release's services run as processes of this machine's agent,
behind its switching proxies.

Activation order, for every service of the release at once: start on a private port,
wait for `healthy_after` consecutive passes (a crash or the start deadline fails the
release and stops the new processes; the old release never stopped serving), switch the
public port, drain the old release's connections for at most `drain_timeout`, stop it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from shipway.errors import StageError
from shipway.orchestrator.stages.interface import StageContext
from shipway.runtime.health import ProbeResult
from shipway.runtime.host import ServiceHost
from shipway.runtime.release import ServiceRelease
from shipway.runtime.target import Target
from shipway.store import Store
from shipway.store.records import ReleaseRecord

#: Before the first pass, probe this often: a release is switched to as soon as it can be.
FIRST_PASS_POLL = 0.1
LOG_TAIL_LINES = 5
#: How long connections on the old release may end by themselves before it gets SIGTERM:
#: enough for one accepted just before the switch to finish connecting to it.
SETTLE_GRACE = 0.25


@dataclass
class _Starting:
    service: ServiceRelease
    name: str
    port: int | None
    deadline: float
    passes: int = 0
    next_probe: float = 0.0
    last: ProbeResult = field(default_factory=lambda: ProbeResult(False, "not probed yet"))


class LocalTarget(Target):
    def __init__(self, host: ServiceHost, store: Store) -> None:
        self.host = host
        self.store = store

    def activate(
        self, ctx: StageContext, release: ReleaseRecord, current: ReleaseRecord | None
    ) -> None:
        starting: list[_Starting] = []
        try:
            for data in release.services.values():
                starting.append(self._start(release, ServiceRelease.from_dict(data)))
            self._wait_healthy(ctx, release, starting)
            old_backends = self._switch(release, starting)
        except BaseException:
            # Not live: whatever of the new release started stops; the old one serves on.
            for item in starting:
                self.host.stop(item.name)
            raise
        self.store.releases.activate(release.id)
        ctx.emit(
            "RELEASE_SWITCHED",
            f"{release.id} serves now" + (f", {current.id} drains" if current else ""),
            release=release.id,
        )
        self._retire_others(ctx, release, current, old_backends)

    def deactivate(self, ctx: StageContext, release: ReleaseRecord) -> None:
        for data in release.services.values():
            service = ServiceRelease.from_dict(data)
            if service.public_port is not None:
                self.host.unroute(service.bind, service.public_port)
        for status in self.host.processes_of(release.project, release.environment):
            if status.labels.get("release") == release.id:
                self.host.stop(status.name)

    # --- steps --------------------------------------------------------------------------

    def _start(self, release: ReleaseRecord, service: ServiceRelease) -> _Starting:
        name, port = self.host.start(release.id, release.project, release.environment, service)
        deadline = time.monotonic() + service.health.start_timeout
        return _Starting(service, name, port, deadline)

    def _wait_healthy(
        self, ctx: StageContext, release: ReleaseRecord, starting: list[_Starting]
    ) -> None:
        pending = list(starting)
        while pending:
            ctx.check_cancelled()
            now = time.monotonic()
            for item in list(pending):
                if self._probe_due(item, now):
                    pending.remove(item)
                    ctx.emit(
                        "RELEASE_HEALTHY",
                        f"{item.name} healthy on port {item.port} ({item.last.output})",
                        service=item.service.service,
                        port=item.port,
                    )
            if pending:
                ctx.sleep(min(0.05, FIRST_PASS_POLL))

    def _probe_due(self, item: _Starting, now: float) -> bool:
        """Probe `item` if it is time; True once it has enough consecutive passes."""
        status = self.host.process(item.name)
        if status is None or status.state != "running":
            reason = status.last_exit if status is not None else "stopped"
            raise StageError(
                f"{item.name} exited before it became healthy ({reason}); "
                f"the previous release keeps serving. Last output: {_tail(item.service)}"
            )
        if now >= item.deadline:
            timeout = item.service.health.start_timeout
            raise StageError(
                f"{item.name} not healthy after {timeout:g}s: last check: {item.last.output}; "
                f"the previous release keeps serving. Last output: {_tail(item.service)}"
            )
        if now < item.next_probe:
            return False
        env = item.service.process_env(item.port)
        item.last = item.service.probe(item.port).run(item.service.cwd, env)
        item.passes = item.passes + 1 if item.last.ok else 0
        health = item.service.health
        item.next_probe = time.monotonic() + (health.interval if item.passes else FIRST_PASS_POLL)
        return item.passes >= health.healthy_after

    def _switch(
        self, release: ReleaseRecord, starting: list[_Starting]
    ) -> dict[str, tuple[str, int] | None]:
        """Point each public port at the new release; if one cannot be, put the ports
        already switched back as they were and raise."""
        old: dict[str, tuple[str, int] | None] = {}
        switched: list[ServiceRelease] = []
        try:
            for item in starting:
                service = item.service
                if service.public_port is None or item.port is None:
                    continue
                owner = f"{release.project}/{release.environment}/{service.service}"
                old[service.service] = self.host.route(
                    owner, service.bind, service.public_port, ("127.0.0.1", item.port)
                )
                switched.append(service)
        except BaseException:
            for service in switched:
                assert service.public_port is not None
                before = old[service.service]
                if before is None:
                    self.host.unroute(service.bind, service.public_port)
                else:
                    owner = f"{release.project}/{release.environment}/{service.service}"
                    self.host.route(owner, service.bind, service.public_port, before)
            raise
        return old

    def _retire_others(
        self,
        ctx: StageContext,
        release: ReleaseRecord,
        current: ReleaseRecord | None,
        old_backends: dict[str, tuple[str, int] | None],
    ) -> None:
        """Drain and stop every process of the environment that is not `release`'s.

        NOTE: the proxy works on TCP, so it cannot tell an idle keep-alive connection
        from a busy one. Connections get a moment to end by themselves; then the old
        processes get SIGTERM, on which a web server finishes the requests in flight and
        closes its idle keep-alive connections (clients reconnect, through the proxy, to
        the new release), and SIGKILL only after `drain_timeout`. What is still open on
        the old backend after that is closed by the proxy and reported."""
        services = {s.service: s for s in _services(current)}
        draining = [
            (service, backend)
            for name, backend in old_backends.items()
            if backend is not None
            and (service := services.get(name)) is not None
            and service.public_port is not None
        ]
        for service, backend in draining:
            assert service.public_port is not None
            grace = min(SETTLE_GRACE, service.drain_timeout)
            self.host.wait_idle(service.bind, service.public_port, backend, grace)
        old = [
            status
            for status in self.host.processes_of(release.project, release.environment)
            if status.labels.get("release") != release.id
        ]
        timeout = {name: s.drain_timeout for name, s in services.items()}
        stoppers = [
            threading.Thread(
                target=self.host.stop,
                args=(status.name, timeout.get(status.labels.get("service", ""), 10.0)),
            )
            for status in old
        ]
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join()
        for service, backend in draining:
            assert service.public_port is not None
            cut = self.host.drain(service.bind, service.public_port, backend, 1.0)
            if cut:
                ctx.emit(
                    "RELEASE_DRAINED",
                    f"{cut} connection(s) to the old {service.service} were still open after "
                    "it stopped and were closed",
                )
        # A service the new release no longer has: close its public port.
        kept = {(s.bind, s.public_port) for s in _services(release)}
        for service in services.values():
            if service.public_port is not None and (service.bind, service.public_port) not in kept:
                self.host.unroute(service.bind, service.public_port)


def _services(release: ReleaseRecord | None) -> Iterator[ServiceRelease]:
    if release is None:
        return
    for data in release.services.values():
        yield ServiceRelease.from_dict(data)


def _tail(service: ServiceRelease) -> str:
    path = Path(service.log_file)
    try:
        with path.open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - 4096))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return "(no log)"
    lines = [line for line in text.splitlines() if line.strip()][-LOG_TAIL_LINES:]
    return " | ".join(lines)[-600:] if lines else "(no output)"


__all__ = ["LocalTarget"]
