"""Directories other users can read or write: uploads, data and keys open to every
account on the host."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from shipway.scanner.findings import Finding, Rule, Severity
from shipway.scanner.misconfig.interface import ManifestView, MisconfigRule, ResourceView


def other_bits(mode: Any) -> int | None:
    """The permission bits for other users of `mode` ("0750", 0o750, "750"), or None."""
    if isinstance(mode, int) and not isinstance(mode, bool):
        return mode & 0o7
    if isinstance(mode, str) and mode.strip():
        try:
            return int(mode.strip().removeprefix("0o"), 8) & 0o7
        except ValueError:
            return None
    return None


def describe(bits: int) -> str:
    return "".join(c if bits & b else "-" for c, b in (("r", 4), ("w", 2), ("x", 1)))


class WorldAccessibleDirectory(MisconfigRule):
    rule = Rule(
        id="misconfig.world-accessible-directory",
        title="Directory open to other users of the host",
        why="Any account on the machine (another service, a compromised daemon) can read "
        "the files, or with write access plant or replace them.",
        fix='Use `mode: "0750"` (or `"0700"`) and run the service as the directory\'s '
        "owner or group.",
        severity=Severity.MEDIUM,
    )

    def check(self, view: ManifestView) -> Iterator[Finding]:
        for name, resource in view.environment.resources.items():
            bits = other_bits(resource.attributes.get("mode"))
            if resource.type == "local.directory" and bits:
                detail = f"resource {name!r} gives others {describe(bits)}"
                yield self.finding(view, name, ("resources", name, "mode"), detail)

    def check_resource(self, view: ResourceView) -> Iterator[Finding]:
        bits = other_bits(view.configuration.get("mode"))
        if view.type == "local.directory" and bits:
            yield self.resource_finding(view, f"gives others {describe(bits)}")
