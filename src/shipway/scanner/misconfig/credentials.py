"""Default credentials: well-known passwords in service settings, resource attributes,
the merged configuration and provisioned resources (`postgres:postgres@`, `admin/admin`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from shipway.scanner.findings import Finding, Rule, Severity
from shipway.scanner.misconfig.interface import (
    ConfigView,
    ManifestView,
    MisconfigRule,
    ResourceView,
    scalars,
)
from shipway.scanner.misconfig.values import is_reference

DEFAULT_PASSWORDS = frozenset(
    """admin admin123 changeme change_me default guest letmein minioadmin mysql pass passw0rd
    password password1 password123 postgres qwerty rabbitmq redis root secret test toor
    123456 12345678""".split()  # noqa: SIM905
)
_PASSWORD_NAME = re.compile(r"pass(?:word|wd)?|pwd|secret", re.IGNORECASE)
_URL_USERINFO = re.compile(r"://(?P<user>[^:/@\s]+):(?P<password>[^@/\s]+)@")


def default_password(name: str, value: Any) -> str | None:
    """The well-known password `name: value` sets, if any (in a URL too)."""
    if not isinstance(value, str | int) or is_reference(value):
        return None
    text = str(value)
    if _PASSWORD_NAME.search(name) and text.lower() in DEFAULT_PASSWORDS:
        return text
    match = _URL_USERINFO.search(text)
    if match is not None:
        password = match.group("password")
        if password.lower() in DEFAULT_PASSWORDS or password == match.group("user"):
            return password
    return None


class DefaultCredentials(MisconfigRule):
    rule = Rule(
        id="misconfig.default-credentials",
        title="Default credentials",
        why="Well-known passwords are the first ones attackers try; scanners find such "
        "services within hours of them being reachable.",
        fix="Generate a password per environment and reference it: `${secret:db_password}`.",
        severity=Severity.HIGH,
    )

    def check(self, view: ManifestView) -> Iterator[Finding]:
        for name, service in view.environment.services.items():
            for variable, value in service.env.items():
                if default_password(variable, value) is not None:
                    detail = f"service {name!r} sets {variable} to a default password"
                    keys = ("services", name, "env", variable)
                    yield self.finding(view, f"{name}.{variable}", keys, detail)
        for name, resource in view.environment.resources.items():
            for key, value in resource.attributes.items():
                if default_password(key, value) is not None:
                    detail = f"resource {name!r} sets {key} to a default password"
                    yield self.finding(view, f"{name}.{key}", ("resources", name, key), detail)

    def check_config(self, view: ConfigView) -> Iterator[Finding]:
        for key, name, value in view.leaves():
            if default_password(name, value) is not None:
                yield self.config_finding(view, key, f"{key} holds a default password")

    def check_resource(self, view: ResourceView) -> Iterator[Finding]:
        for key, name, value in scalars(view.configuration):
            if default_password(name, value) is not None:
                yield self.resource_finding(view, f"sets {key} to a default password", key)
