"""Security groups open to the world on every port: the firewall does nothing."""

from __future__ import annotations

from collections.abc import Iterator

from shipway.scanner.findings import Finding, Rule, Severity
from shipway.scanner.misconfig.ingress import all_ports, from_anywhere, ingress_entries
from shipway.scanner.misconfig.interface import ManifestView, MisconfigRule, ResourceView


class OpenToTheWorld(MisconfigRule):
    rule = Rule(
        id="misconfig.open-to-the-world",
        title="Every port open to the internet",
        why="An ingress rule admitting any address on every port exposes whatever listens "
        "on the machine, including services that were never meant to be reached (admin "
        "consoles, debug ports, databases).",
        fix="Replace the rule with one entry per port the service needs (443, the public "
        "port), and reach administration ports through a VPN or bastion range.",
        severity=Severity.HIGH,
    )

    def check(self, view: ManifestView) -> Iterator[Finding]:
        for name, resource in view.environment.resources.items():
            for key, index, entry in ingress_entries(resource.attributes):
                if from_anywhere(entry) and all_ports(entry):
                    detail = f"resource {name!r} allows every port from anywhere"
                    keys = ("resources", name, key, index)
                    yield self.finding(view, f"{name}.{key}[{index}]", keys, detail)

    def check_resource(self, view: ResourceView) -> Iterator[Finding]:
        for key, index, entry in ingress_entries(view.configuration):
            if from_anywhere(entry) and all_ports(entry):
                detail = "allows every port from anywhere"
                yield self.resource_finding(view, detail, f"{key}[{index}]")
