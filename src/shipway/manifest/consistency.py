"""Rules that need a whole environment at once: names that refer to other entries.

`EnvironmentView` is what one environment deploys after inheritance. Validating it checks
that `depends_on`, `notify`, `service` and `tests.service` name entries that exist in that
environment, that resources do not depend on each other in a loop, that no two services
claim one public port, and that `target: ssh` has hosts.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from shipway.manifest.fields import ManifestModel, ModelProblem, Name, did_you_mean
from shipway.manifest.models import EnvironmentSpec
from shipway.manifest.monitoring import MonitoringSpec
from shipway.manifest.references import resource_references
from shipway.manifest.requirements import RequirementsSpec
from shipway.manifest.sections import ConfigSpec, ResourceSpec, SecuritySpec
from shipway.manifest.services import ServiceSpec
from shipway.manifest.testing import IntegrationTestsSpec


class EnvironmentView(ManifestModel):
    """One environment's merged settings and the sections it deploys."""

    environment: EnvironmentSpec
    requirements: RequirementsSpec = Field(default_factory=RequirementsSpec)
    resources: dict[Name, ResourceSpec] = Field(default_factory=dict)
    config: ConfigSpec = Field(default_factory=ConfigSpec)
    services: dict[Name, ServiceSpec] = Field(default_factory=dict)
    security: SecuritySpec = Field(default_factory=SecuritySpec)
    tests: IntegrationTestsSpec = Field(default_factory=IntegrationTestsSpec)
    monitoring: MonitoringSpec = Field(default_factory=MonitoringSpec)

    @model_validator(mode="after")
    def _check_consistency(self) -> EnvironmentView:
        _check_hosts(self.environment)
        _check_dependencies(self.resources)
        _check_ports(self.services)
        _check_service_names(self)
        _check_channels(self.monitoring)
        _check_anomaly_names(self.monitoring)
        tested_service(self)
        return self


def _check_hosts(env: EnvironmentSpec) -> None:
    if env.target == "ssh" and not env.hosts:
        raise ModelProblem(
            "target ssh needs at least one entry in 'hosts'", ("environment", "target")
        )
    if env.target == "local" and env.hosts:
        raise ModelProblem(
            "hosts are only used with target ssh (set target: ssh, or hosts: [])",
            ("environment", "hosts"),
        )


def _check_dependencies(resources: dict[str, ResourceSpec]) -> None:
    """Edges come from `depends_on` and from every `${resources.NAME.ATTR}` in a resource's
    attributes; each edge keeps where it is written, so an error points at it."""
    names = list(resources)
    edges: dict[str, list[tuple[str, tuple[str | int, ...]]]] = {}
    for name, resource in resources.items():
        out = edges.setdefault(name, [])
        for index, dependency in enumerate(resource.depends_on):
            if dependency not in resources:
                raise ModelProblem(
                    f"unknown resource {dependency!r}{did_you_mean(dependency, names)}",
                    ("resources", name, "depends_on", index),
                )
            out.append((dependency, ("resources", name, "depends_on")))
        for where, reference in resource_references(resource.attributes):
            target, dot, attribute = reference.partition(".")
            at = ("resources", name, *where)
            if not (target and dot and attribute) or "." in attribute:
                raise ModelProblem(
                    f"invalid reference ${{resources.{reference}}}: write "
                    "${resources.NAME.ATTRIBUTE}",
                    at,
                )
            if target not in resources:
                raise ModelProblem(
                    f"unknown resource {target!r} in ${{resources.{reference}}}"
                    f"{did_you_mean(target, names)}",
                    at,
                )
            out.append((target, at))
    cycle = _find_cycle(edges)
    if cycle is not None:
        where = next(at for target, at in edges[cycle[0]] if target == cycle[1])
        raise ModelProblem(
            "resources depend on each other in a cycle: " + " -> ".join(cycle), where
        )


def _find_cycle(edges: dict[str, list[tuple[str, tuple[str | int, ...]]]]) -> list[str] | None:
    # Iterative depth-first search: a long dependency chain must not hit the stack limit.
    done: set[str] = set()
    for start in edges:
        if start in done:
            continue
        path, on_path = [start], {start}
        pending = [iter([t for t, _ in edges[start]])]
        while pending:
            for dependency in pending[-1]:
                if dependency in on_path:
                    return [*path[path.index(dependency) :], dependency]
                if dependency not in done:
                    path.append(dependency)
                    on_path.add(dependency)
                    pending.append(iter([t for t, _ in edges[dependency]]))
                    break
            else:
                on_path.discard(path[-1])
                done.add(path.pop())
                pending.pop()
    return None


def _check_ports(services: dict[str, ServiceSpec]) -> None:
    owners: dict[int, str] = {}
    for name, service in services.items():
        if service.port is None:
            continue
        if service.port in owners:
            raise ModelProblem(
                f"port {service.port} is already the public port of service "
                f"{owners[service.port]!r}",
                ("services", name, "port"),
            )
        owners[service.port] = name


def _check_service_names(view: EnvironmentView) -> None:
    names = list(view.services)
    refs: list[tuple[str | None, tuple[str | int, ...]]] = [
        (view.tests.service, ("tests", "service"))
    ]
    refs += [
        (s.service, ("monitoring", "scrape", i, "service"))
        for i, s in enumerate(view.monitoring.scrape)
    ]
    refs += [
        (s.service, ("monitoring", "logs", i, "service"))
        for i, s in enumerate(view.monitoring.logs)
    ]
    refs += [
        (a.log.service, ("monitoring", "alerts", i, "log", "service"))
        for i, a in enumerate(view.monitoring.alerts)
        if a.log is not None
    ]
    refs += [(name, ("config", "reload", name)) for name in view.config.reload]
    refs += [
        (f.service, ("config", "files", i, "service")) for i, f in enumerate(view.config.files)
    ]
    for name, where in refs:
        if name is not None and name not in view.services:
            raise ModelProblem(f"unknown service {name!r}{did_you_mean(name, names)}", where)


def _check_anomaly_names(monitoring: MonitoringSpec) -> None:
    """An anomaly rule's name is the `metric` label of what it records: two rules of one
    name would mix their series. (Alert rules may share a name, as in Prometheus.)"""
    seen: set[str] = set()
    for index, rule in enumerate(monitoring.anomalies):
        if rule.name in seen:
            raise ModelProblem(
                f"duplicate anomaly rule name {rule.name!r}: each needs its own",
                ("monitoring", "anomalies", index, "name"),
            )
        seen.add(rule.name)


def _check_channels(monitoring: MonitoringSpec) -> None:
    channels = list(monitoring.notify)
    for index, alert in enumerate(monitoring.alerts):
        for position, channel in enumerate(alert.notify):
            if channel not in monitoring.notify:
                hint = did_you_mean(channel, channels)
                raise ModelProblem(
                    f"unknown notification channel {channel!r}{hint} (define it under "
                    "monitoring.notify)",
                    ("monitoring", "alerts", index, "notify", position),
                )


def tested_service(view: EnvironmentView) -> str | None:
    """The service the tests run against: `tests.service`, else the only one with a port."""
    tests = view.tests
    if tests.service is not None:
        return tests.service
    if not (tests.api or tests.e2e or tests.load or tests.contract):
        return None
    public = [name for name, service in view.services.items() if service.port is not None]
    if len(public) != 1:
        found = ", ".join(public) if public else "none"
        raise ModelProblem(
            f"set tests.service: the tests need one service with a port (found: {found})",
            ("tests",),
        )
    return public[0]
