"""Database roles that are superusers: the application can do anything to the server."""

from __future__ import annotations

from collections.abc import Iterator

from shipway.scanner.findings import Finding, Rule, Severity
from shipway.scanner.misconfig.interface import ManifestView, MisconfigRule, ResourceView
from shipway.scanner.misconfig.values import is_true

_SUPERUSER_KEYS = ("superuser", "rolsuper", "is_superuser")


class DatabaseSuperuser(MisconfigRule):
    rule = Rule(
        id="misconfig.database-superuser",
        title="Database role is a superuser",
        why="A superuser bypasses every permission check, reads every database on the "
        "server and can run programs as the server's OS user (`COPY ... PROGRAM`); an SQL "
        "injection in the application becomes a server takeover.",
        fix="Give the application a role that owns only its database (`owner_role`), "
        "without SUPERUSER, CREATEROLE or CREATEDB.",
        severity=Severity.HIGH,
    )

    def check(self, view: ManifestView) -> Iterator[Finding]:
        for name, resource in view.environment.resources.items():
            if resource.type != "postgres.role":
                continue
            for key in _SUPERUSER_KEYS:
                if is_true(resource.attributes.get(key)):
                    detail = f"resource {name!r} has {key}: true"
                    yield self.finding(view, name, ("resources", name, key), detail)
                    break

    def check_resource(self, view: ResourceView) -> Iterator[Finding]:
        if view.type not in ("postgres.role", "postgres.database"):
            return
        for key in (*_SUPERUSER_KEYS, "owner_superuser"):
            if is_true(view.configuration.get(key)):
                yield self.resource_finding(view, f"has {key}: true")
                return
