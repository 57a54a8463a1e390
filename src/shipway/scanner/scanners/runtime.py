"""The runtime scanner: for each released service (`ScanTarget.services`), the HTTP
security headers of its response, its TLS (when the port speaks it: the switching proxy
passes bytes through, so the probe asks the port itself), and listening ports of its
processes that the manifest does not declare. A service that does not answer is a
finding too: its checks could not run."""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from types import MappingProxyType
from urllib.parse import urlsplit

import httpx

from shipway.errors import InputError
from shipway.manifest.nodes import locate, position
from shipway.manifest.source import compose_manifest
from shipway.scanner.findings import Finding, Location, Rule, Severity
from shipway.scanner.runtime import headers, ports, tls
from shipway.scanner.runtime.endpoints import ServiceEndpoint
from shipway.scanner.runtime.problems import Problem, rule
from shipway.scanner.scanners.interface import Scanner, ScanTarget

#: Seconds for each connection and response.
TIMEOUT = 5.0

UNREACHABLE = rule(
    "service-unreachable",
    "Released service did not answer",
    "The service's runtime checks (headers, TLS, ports) could not run, so nothing is "
    "known about what it exposes.",
    "Check that the release is running (`shipway status`) and scan again.",
    Severity.MEDIUM,
)


class RuntimeScanner(Scanner):
    name = "runtime"

    def __init__(self, now: datetime.datetime | None = None) -> None:
        self._now = now

    def rules(self) -> Sequence[Rule]:
        return (*headers.RULES, *tls.RULES, *ports.RULES, UNREACHABLE)

    def scan(self, target: ScanTarget) -> Iterator[Finding]:
        now = self._now or datetime.datetime.now(datetime.UTC)
        for endpoint in target.services:
            if target.cancelled():
                return
            where = _location(target, endpoint.service)
            for problem in probe(endpoint, now):
                yield _finding(endpoint, problem, where)


def probe(endpoint: ServiceEndpoint, now: datetime.datetime) -> list[Problem]:
    """Every problem of one service, probed over the network and through its processes."""
    parts = urlsplit(endpoint.url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    hostname = endpoint.hostname or host
    found: list[Problem] = []
    first = tls.handshake(host, port, hostname, TIMEOUT)
    https = first is not None
    if first is not None:
        found += tls.tls_problems(first, host, port, hostname, TIMEOUT, now)
    scheme = "https" if https else "http"
    netloc = f"[{host}]" if ":" in host else host
    url = f"{scheme}://{netloc}:{port}{parts.path or '/'}"
    try:
        # NOTE: certificates are judged by the TLS probe above; here only headers count.
        with httpx.Client(verify=False, timeout=TIMEOUT, follow_redirects=False) as client:  # noqa: S501
            named = {"Host": f"{hostname}:{port}"} if endpoint.hostname else {}
            response = client.get(url, headers=named)
    except httpx.HTTPError as e:
        found.append(Problem(UNREACHABLE, f"at {url} did not answer: {type(e).__name__}"))
    else:
        lowered = {k.lower(): v for k, v in response.headers.items()}
        found += headers.header_problems(lowered, https)
    if endpoint.pids:
        found += ports.port_problems(endpoint.pids, endpoint.declared_ports)
    return found


def _finding(endpoint: ServiceEndpoint, problem: Problem, where: Location) -> Finding:
    subject = f":{problem.subject}" if problem.subject else ""
    properties = {"service": endpoint.service, "url": endpoint.url, **problem.properties}
    if endpoint.environment:
        properties["environment"] = endpoint.environment
    if endpoint.release:
        properties["release"] = endpoint.release
    return Finding(
        id=f"{problem.rule.id}:{endpoint.service}{subject}",
        rule=problem.rule.id,
        scanner="runtime",
        severity=problem.rule.severity,
        location=where,
        title=f"{problem.rule.title}: service {endpoint.service!r} {problem.detail}",
        why=problem.rule.why,
        fix=problem.rule.fix,
        properties=MappingProxyType(properties),
    )


def _location(target: ScanTarget, service: str) -> Location:
    """The manifest line declaring the service, else a pseudo-path naming it."""
    loaded = target.manifest
    if loaded is None:
        return Location(f"services/{service}")
    try:
        path = loaded.path.resolve().relative_to(target.root.resolve()).as_posix()
    except ValueError:
        path = str(loaded.path)
    try:
        root = compose_manifest(loaded.source_text, str(loaded.path))
    except InputError:
        return Location(path)
    if root is None:
        return Location(path)
    found = locate(root, ("services", service))
    if found.matched != ("services", service):
        return Location(path)
    line, column = position(found.key_node or found.node)
    return Location(path, line, column)
