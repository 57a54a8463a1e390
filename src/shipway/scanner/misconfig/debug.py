"""Debug mode in production: stack traces, consoles and settings shown to anyone."""

from __future__ import annotations

import re
from collections.abc import Iterator

from shipway.scanner.findings import Finding, Rule, Severity
from shipway.scanner.misconfig.interface import ConfigView, ManifestView, MisconfigRule

_DEBUG_FLAG = re.compile(r"^(?:[A-Z0-9]+_)?DEBUG$")
_TRUE = frozenset({"1", "true", "yes", "on"})
# Variables whose value names a development mode.
_DEV_MODE = {"FLASK_ENV": "development", "NODE_ENV": "development", "APP_ENV": "development"}
# Configuration keys: `debug`, `app_debug`, `debugMode`; and keys naming the mode.
_DEBUG_KEY = re.compile(r"^(?:[a-z0-9]+_)?debug(?:_?mode)?$", re.IGNORECASE)
_MODE_KEYS = frozenset({"env", "environment", "mode", "app_env", "flask_env", "node_env"})


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

    def check_config(self, view: ConfigView) -> Iterator[Finding]:
        if not view.production:
            return
        for key, name, value in view.leaves():
            text = str(value).strip().lower()
            flag = _DEBUG_KEY.match(name) and (value is True or text in _TRUE)
            mode = name.lower() in _MODE_KEYS and text == "development"
            if flag or mode:
                yield self.config_finding(view, key, f"configuration sets {key}: {value}")
