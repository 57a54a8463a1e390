"""TLS disabled: connections configured to skip encryption or certificate checks, in the
manifest, the merged configuration or a provisioned resource."""

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
from shipway.scanner.misconfig.values import is_false, is_true

# Attributes that turn TLS or its verification off when false, or on when true.
_OFF_WHEN_FALSE = frozenset(
    {"ssl", "tls", "use_ssl", "use_tls", "verify_ssl", "ssl_verify", "tls_verify", "verify"}
)
_OFF_WHEN_TRUE = frozenset({"insecure", "insecure_skip_verify", "skip_tls_verify", "no_verify"})
# In connection strings: libpq's sslmode, and the usual query flags of drivers.
_URL_FLAG = re.compile(
    r"[?&;](?:sslmode=(?:disable|allow)|ssl=(?:false|0|off)|tls=(?:false|0|off)"
    r"|tlsInsecure=true|tlsAllowInvalidCertificates=true|verify=(?:false|0))",
    re.IGNORECASE,
)


def _disables_tls(key: str, value: Any) -> bool:
    lowered = key.lower()
    if lowered in _OFF_WHEN_FALSE and is_false(value):
        return True
    if lowered in _OFF_WHEN_TRUE and is_true(value):
        return True
    if lowered == "sslmode" and str(value).lower() in ("disable", "allow"):
        return True
    return isinstance(value, str) and _URL_FLAG.search(value) is not None


class TlsDisabled(MisconfigRule):
    rule = Rule(
        id="misconfig.tls-disabled",
        title="TLS disabled or not verified",
        why="Without TLS, or without checking the certificate, anyone on the network path "
        "can read or change the traffic, credentials included.",
        fix="Remove the setting (`sslmode=require` or `verify-full` for PostgreSQL) and "
        "give the client the CA it needs to verify the server.",
        severity=Severity.MEDIUM,
    )

    def check(self, view: ManifestView) -> Iterator[Finding]:
        for name, resource in view.environment.resources.items():
            for key, value in resource.attributes.items():
                if _disables_tls(key, value):
                    detail = f"resource {name!r} sets {key}"
                    yield self.finding(view, f"{name}.{key}", ("resources", name, key), detail)
        for name, service in view.environment.services.items():
            for variable, value in service.env.items():
                if _disables_tls(variable, value):
                    detail = f"service {name!r} sets {variable} without TLS"
                    keys = ("services", name, "env", variable)
                    yield self.finding(view, f"{name}.{variable}", keys, detail)

    def check_config(self, view: ConfigView) -> Iterator[Finding]:
        for key, name, value in view.leaves():
            if _disables_tls(name, value):
                yield self.config_finding(view, key, f"configuration key {key} turns it off")

    def check_resource(self, view: ResourceView) -> Iterator[Finding]:
        for key, name, value in scalars(view.configuration):
            if _disables_tls(name, value):
                yield self.resource_finding(view, f"sets {key}", key)
