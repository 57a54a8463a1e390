"""Debug mode in production: stack traces, consoles and settings shown to anyone."""

from __future__ import annotations

import re
from collections.abc import Iterator

from shipway.scanner.findings import Finding, Rule, Severity
from shipway.scanner.misconfig.interface import ManifestView, MisconfigRule

_DEBUG_FLAG = re.compile(r"^(?:[A-Z0-9]+_)?DEBUG$")
_TRUE = frozenset({"1", "true", "yes", "on"})
# Variables whose value names a development mode.
_DEV_MODE = {"FLASK_ENV": "development", "NODE_ENV": "development", "APP_ENV": "development"}


class DebugInProduction(MisconfigRule):
    rule = Rule(
        id="misconfig.debug-in-production",
        title="Debug mode in production",
        why="Debug modes show stack traces, settings and sometimes an interactive console "
        "to whoever triggers an error; Werkzeug's debugger runs arbitrary code.",
        fix="Remove the variable from the production environment (or set it false); "
        "keep debug settings in dev overrides.",
        severity=Severity.HIGH,
    )

    def check(self, view: ManifestView) -> Iterator[Finding]:
        if not view.production:
            return
        for name, service in view.environment.services.items():
            for variable, value in service.env.items():
                flag = _DEBUG_FLAG.match(variable) and value.strip().lower() in _TRUE
                mode = _DEV_MODE.get(variable) == value.strip().lower()
                if flag or mode:
                    detail = f"service {name!r} sets {variable}={value}"
                    keys = ("services", name, "env", variable)
                    yield self.finding(view, f"{name}.{variable}", keys, detail)
