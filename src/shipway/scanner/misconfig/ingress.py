"""Administration ports open to the internet: SSH, RDP, databases, caches, Docker; in the
manifest (services bound to every interface, resource ingress lists) and in provisioned
security groups. Entries open on every port are the `open_world` rule's."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from shipway.scanner.findings import Finding, Rule, Severity
from shipway.scanner.misconfig.interface import ManifestView, MisconfigRule, ResourceView

ADMIN_PORTS = {
    22: "SSH",
    2375: "Docker API",
    2376: "Docker API",
    2379: "etcd",
    3306: "MySQL",
    3389: "RDP",
    5432: "PostgreSQL",
    5601: "Kibana",
    5900: "VNC",
    6379: "Redis",
    8500: "Consul",
    9200: "Elasticsearch",
    10250: "kubelet",
    11211: "Memcached",
    15672: "RabbitMQ management",
    27017: "MongoDB",
}
_ANYWHERE = frozenset({"0.0.0.0/0", "::/0", "*", "any", "internet"})
_EVERY_INTERFACE = frozenset({"0.0.0.0", "::", "[::]", "*"})  # noqa: S104 - what we look for
_RULE_LISTS = ("ingress", "ingress_rules", "inbound", "inbound_rules", "firewall", "allow")


def _sources(entry: Mapping[str, Any]) -> set[str]:
    out: set[str] = set()
    keys = ("cidr", "cidr_blocks", "cidrs", "source", "sources", "from", "ipv6_cidr_blocks")
    for key in (*keys, "ipv6_cidrs"):
        value = entry.get(key)
        out.update(str(v) for v in (value if isinstance(value, list) else [value]) if v)
    return out


def from_anywhere(entry: Mapping[str, Any]) -> bool:
    """Whether an ingress entry admits every IPv4 or IPv6 address."""
    return bool(_sources(entry) & _ANYWHERE)


def all_ports(entry: Mapping[str, Any]) -> bool:
    """Whether an ingress entry opens every port: protocol `-1`/`all`, or 0/1-65535."""
    if str(entry.get("protocol", "")).lower() in ("-1", "all", "any"):
        return True
    first, last = entry.get("from_port"), entry.get("to_port")
    return isinstance(first, int) and isinstance(last, int) and first <= 1 and last >= 65535


def ingress_entries(attributes: Mapping[str, Any]) -> Iterator[tuple[str, int, Mapping[str, Any]]]:
    """`(list key, index, entry)` of every ingress entry a resource declares."""
    for key in _RULE_LISTS:
        entries = attributes.get(key)
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(entry, dict):
                yield key, index, entry


def _ports(entry: Mapping[str, Any]) -> set[int]:
    ports: set[int] = set()
    for key in ("port", "ports"):
        value = entry.get(key)
        for item in value if isinstance(value, list) else [value]:
            text = str(item) if item is not None else ""
            low, _, high = text.partition("-")
            if low.isdigit() and (not high or high.isdigit()):
                ports.update(p for p in ADMIN_PORTS if int(low) <= p <= int(high or low))
    first, last = entry.get("from_port"), entry.get("to_port")
    if isinstance(first, int):
        top = last if isinstance(last, int) else first
        ports.update(p for p in ADMIN_PORTS if first <= p <= top)
    return ports


class OpenAdminPort(MisconfigRule):
    rule = Rule(
        id="misconfig.open-admin-port",
        title="Administration port open to the internet",
        why="SSH, RDP, database and cache ports reachable from anywhere are scanned and "
        "brute-forced continuously; several of these services have no authentication by "
        "default.",
        fix="Allow only the addresses that need the port (a VPN or bastion range), or bind "
        "the service to 127.0.0.1 and reach it through a tunnel.",
        severity=Severity.HIGH,
    )

    def check(self, view: ManifestView) -> Iterator[Finding]:
        for name, service in view.environment.services.items():
            if service.port in ADMIN_PORTS and service.bind in _EVERY_INTERFACE:
                label = ADMIN_PORTS[service.port]
                detail = f"service {name!r} listens on {service.bind}:{service.port} ({label})"
                yield self.finding(view, name, ("services", name, "bind"), detail)
        for name, resource in view.environment.resources.items():
            for key, index, entry in ingress_entries(resource.attributes):
                if not from_anywhere(entry) or all_ports(entry):
                    continue
                for port in sorted(_ports(entry)):
                    label = f"{ADMIN_PORTS[port]} ({port})"
                    detail = f"resource {name!r} allows {label} from anywhere"
                    keys = ("resources", name, key, index)
                    yield self.finding(view, f"{name}.{port}", keys, detail)

    def check_resource(self, view: ResourceView) -> Iterator[Finding]:
        for _, _, entry in ingress_entries(view.configuration):
            if not from_anywhere(entry) or all_ports(entry):
                continue
            for port in sorted(_ports(entry)):
                label = f"{ADMIN_PORTS[port]} ({port})"
                yield self.resource_finding(view, f"allows {label} from anywhere", str(port))
